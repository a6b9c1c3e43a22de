import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';

const REGISTER = require.resolve('../src/register');

/** Loads grpc-js in a fresh process with the preload and tells what the gRPC instrumentation patched. */
function grpcPatchedUnder(env: NodeJS.ProcessEnv): { client: boolean; server: boolean } {
  const script = `const grpc = require('@grpc/grpc-js');
process.stdout.write(JSON.stringify({
  client: Boolean(grpc.Client.prototype.makeUnaryRequest.__wrapped),
  server: Boolean(grpc.Server.prototype.register.__wrapped),
}));`;
  const output = execFileSync(process.execPath, ['--require', REGISTER, '-e', script], {
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', ...env },
    encoding: 'utf8',
  });
  return JSON.parse(output) as { client: boolean; server: boolean };
}

describe('the telemetry preload', () => {
  it("instruments grpc-js's client when tracing is on, and leaves its server to the platform's own interceptor", () => {
    assert.deepEqual(grpcPatchedUnder({ OTEL_SDK_DISABLED: 'false' }), { client: true, server: false });
  });

  it('leaves grpc-js untouched when OTEL_SDK_DISABLED is true, so a disabled SDK costs nothing per call', () => {
    assert.deepEqual(grpcPatchedUnder({ OTEL_SDK_DISABLED: 'true' }), { client: false, server: false });
  });
});
