import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';

const REGISTER = require.resolve('../src/register');

/** Loads grpc-js in a fresh process with the preload and tells whether the gRPC instrumentation patched it. */
function grpcPatchedUnder(env: NodeJS.ProcessEnv): boolean {
  const script = "process.stdout.write(String(Boolean(require('@grpc/grpc-js').Server.prototype.register.__wrapped)))";
  const output = execFileSync(process.execPath, ['--require', REGISTER, '-e', script], {
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', ...env },
    encoding: 'utf8',
  });
  return output.trim() === 'true';
}

describe('the telemetry preload', () => {
  it('instruments grpc-js when tracing is on', () => {
    assert.equal(grpcPatchedUnder({ OTEL_SDK_DISABLED: 'false' }), true);
  });

  it('leaves grpc-js untouched when OTEL_SDK_DISABLED is true, so a disabled SDK costs nothing per call', () => {
    assert.equal(grpcPatchedUnder({ OTEL_SDK_DISABLED: 'true' }), false);
  });
});
