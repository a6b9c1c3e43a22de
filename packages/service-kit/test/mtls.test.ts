import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { credentials, type ChannelCredentials, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import {
  generateCertificates,
  healthStatus,
  runToExit,
  startInProcess,
  testConfig,
  testFaultInjection,
  tlsEnv,
  unary,
  type Certificates,
  type InProcessService,
} from '@platform/testing';
import { EchoServiceClient } from '@platform/contracts/echo/v1/echo';
import { channelCredentials, Code } from '../src';
import { ECHO_SERVICE_NAME, startEchoService } from './echo/echo-service';

const HEALTH_PROBE = require.resolve('@platform/service-kit/cli/health-probe');
const FAULT_CLI = require.resolve('@platform/service-kit/cli/fault');

/** Runs a CLI as its own process (asynchronously: the server it calls runs in this one); its exit code and all it printed. */
async function run(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string }> {
  const { code, stdout, stderr } = await runToExit(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH, ...env },
    signal: AbortSignal.timeout(30_000),
  });
  return { status: code, output: `${stdout}${stderr}` };
}

describe('mTLS (TLS_CA_FILE, TLS_CERT_FILE, TLS_KEY_FILE), with certificates from scripts/gen-certs.sh', () => {
  let certs: Certificates;
  /** A second CA, as an attacker or another environment would have. */
  let stranger: Certificates;
  let service: InProcessService;

  before(async () => {
    certs = generateCertificates();
    stranger = generateCertificates();
    service = await startInProcess(
      ECHO_SERVICE_NAME,
      startEchoService,
      testConfig({ tls: certs.files('user'), faultInjection: testFaultInjection() }),
    );
  });

  after(async () => {
    await service.stop();
    certs.remove();
    stranger.remove();
  });

  /** Fails unless the server turns the connection down: no status from the service itself. */
  async function assertRejected(channel: { credentials: ChannelCredentials; options?: ChannelOptions }): Promise<void> {
    await assert.rejects(healthStatus(service.address, '', channel), (error: ServiceError) => {
      assert.equal(error.code, Code.UNAVAILABLE, `expected the connection to fail, got ${Code[error.code]}: ${error.details}`);
      return true;
    });
  }

  it('serves a client with a certificate from the same CA, by 127.0.0.1 and by localhost', async () => {
    const trusted = channelCredentials({ tls: certs.files('traffic') });
    assert.equal(await healthStatus(service.address, '', { credentials: trusted }), 'SERVING');
    assert.equal(await healthStatus(`localhost:${service.port}`, 'echo.v1.EchoService', { credentials: trusted }), 'SERVING');
    const client = new EchoServiceClient(service.address, channelCredentials({ tls: certs.files('order') }));
    try {
      assert.equal((await unary(client, client.echo)({ text: 'over TLS' })).text, 'over TLS');
    } finally {
      client.close();
    }
  });

  it('rejects a client without a certificate', async () => {
    await assertRejected({ credentials: credentials.createSsl(readFileSync(certs.caFile)) });
  });

  it('rejects a client whose certificate another CA signed', async () => {
    const { certFile, keyFile } = stranger.files('traffic');
    await assertRejected({ credentials: credentials.createSsl(readFileSync(certs.caFile), readFileSync(keyFile), readFileSync(certFile)) });
  });

  it('is rejected by a client that does not trust its CA', async () => {
    const { certFile, keyFile } = certs.files('traffic');
    await assertRejected({
      credentials: credentials.createSsl(readFileSync(stranger.caFile), readFileSync(keyFile), readFileSync(certFile)),
    });
  });

  it('is rejected by a client expecting another server name than its certificate holds', async () => {
    const trusted = channelCredentials({ tls: certs.files('traffic') });
    // The certificate names user, localhost and 127.0.0.1; "order" is a SAN of another process's certificate.
    await assertRejected({ credentials: trusted, options: { 'grpc.ssl_target_name_override': 'order' } });
    await assertRejected({ credentials: trusted, options: { 'grpc.ssl_target_name_override': 'payments.example.com' } });
  });

  it('refuses plaintext', async () => {
    await assertRejected({ credentials: credentials.createInsecure() });
  });

  it('is probed by the health probe CLI with the TLS_* variables, and not without them', async () => {
    const probe = (env: NodeJS.ProcessEnv) => run(HEALTH_PROBE, [`localhost:${service.port}`], env);
    const withTls = await probe(tlsEnv(certs.files('user')));
    assert.equal(withTls.status, 0, withTls.output);
    assert.match(withTls.output, /SERVING/);
    const plaintext = await probe({});
    assert.equal(plaintext.status, 1, plaintext.output);
    assert.match(plaintext.output, /unreachable/);
    const partial = await probe({ TLS_CA_FILE: certs.caFile });
    assert.equal(partial.status, 1);
    assert.match(partial.output, /TLS_CERT_FILE: required[\s\S]*TLS_KEY_FILE: required/);
  });

  it('requires a client certificate on the fault admin listener too, and the fault CLI presents the one of TLS_*', async () => {
    const admin = service.adminAddress;
    assert.ok(admin, 'fault injection is on');
    const withoutCertificate = await run(FAULT_CLI, ['list', '--target', admin], {});
    assert.equal(withoutCertificate.status, 1, withoutCertificate.output);
    const fault = (...args: string[]) => run(FAULT_CLI, [...args, '--target', admin], tlsEnv(certs.files('traffic')));
    const set = await fault('set', 'echo.v1.EchoService/Echo:latency=5ms');
    assert.equal(set.status, 0, set.output);
    const listed = await fault('list');
    assert.equal(listed.status, 0, listed.output);
    assert.match(listed.output, /echo\.v1\.EchoService\/Echo:latency=5ms/);
    assert.equal((await fault('clear')).status, 0);
  });
});
