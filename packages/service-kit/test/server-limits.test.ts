import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectivityState, credentials } from '@grpc/grpc-js';
import {
  expectStatus,
  healthStatus,
  RawClient,
  sampleValue,
  scrapeMetrics,
  startInProcess,
  testConfig,
  unary,
  type InProcessService,
} from '@platform/testing';
import { EchoServiceClient } from '@platform/contracts/echo/v1/echo';
import { Code } from '../src';
import { ECHO_SERVICE_NAME, startEchoService } from './echo/echo-service';

describe('message size limits (GRPC_MAX_RECEIVE_MESSAGE_BYTES, GRPC_MAX_MESSAGE_BYTES)', () => {
  let service: InProcessService;
  let client: EchoServiceClient;

  before(async () => {
    service = await startInProcess(
      ECHO_SERVICE_NAME,
      startEchoService,
      testConfig({ grpcMaxMessageBytes: 1024, grpcMaxReceiveMessageBytes: 1024 }),
    );
    client = new EchoServiceClient(service.address, credentials.createInsecure());
  });

  after(async () => {
    client.close();
    await service.stop();
  });

  it('rejects a request larger than the limit with RESOURCE_EXHAUSTED, before validation sees it', async () => {
    const echo = unary(client, client.echo);
    // Under the limit, the same mistake reaches validation.
    await expectStatus(echo({ text: 'x'.repeat(900) }), Code.INVALID_ARGUMENT);
    const error = await expectStatus(echo({ text: 'x'.repeat(2000) }), Code.RESOURCE_EXHAUSTED);
    assert.match(error.details, /larger than/);
  });
});

describe('connection age (GRPC_MAX_CONNECTION_AGE_MS)', () => {
  it('tells a connection older than the limit to go away, and the client carries on over a new one', async () => {
    const service = await startInProcess(ECHO_SERVICE_NAME, startEchoService, testConfig({ grpcMaxConnectionAgeMs: 200 }));
    const client = new EchoServiceClient(service.address, credentials.createInsecure());
    try {
      await unary(client, client.echo)({ text: 'first' });
      const channel = client.getChannel();
      assert.equal(channel.getConnectivityState(false), connectivityState.READY);
      // The GOAWAY turns the channel idle; a connection without an age limit would stay ready past this bound.
      const next = await new Promise<connectivityState>((resolve, reject) =>
        channel.watchConnectivityState(connectivityState.READY, Date.now() + 10_000, (error) =>
          error ? reject(error) : resolve(channel.getConnectivityState(false)),
        ),
      );
      assert.notEqual(next, connectivityState.READY);
      assert.equal((await unary(client, client.echo)({ text: 'again' })).text, 'again');
    } finally {
      client.close();
      await service.stop();
    }
  });
});

describe('requests that cannot be decoded', () => {
  let service: InProcessService;
  let raw: RawClient;

  before(async () => {
    service = await startInProcess(ECHO_SERVICE_NAME, startEchoService, testConfig());
    raw = new RawClient(service.address);
  });

  after(async () => {
    raw.close();
    await service.stop();
  });

  it('are INVALID_ARGUMENT, not INTERNAL, for the service, health and reflection alike, and counted so', async () => {
    // A group (field 1) that never ends: every decoder runs out of bytes looking for its end.
    const malformed = Buffer.from([0x0b]);
    for (const path of ['/echo.v1.EchoService/Echo', '/grpc.health.v1.Health/Check']) {
      const outcome = await raw.call({ path, requestStream: false, responseStream: false }, [malformed], { deadlineMs: 10_000 });
      assert.equal(outcome.kind, 'status');
      assert.equal(outcome.kind === 'status' && outcome.status.code, Code.INVALID_ARGUMENT, path);
      assert.match(outcome.kind === 'status' ? outcome.status.details : '', /malformed request/);
    }
    const reflection = { path: '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', requestStream: true, responseStream: true };
    const outcome = await raw.call(reflection, [malformed], { deadlineMs: 10_000 });
    assert.equal(outcome.kind === 'status' && outcome.status.code, Code.INVALID_ARGUMENT);

    const { samples } = await scrapeMetrics(service.telemetry.metricsPort);
    assert.equal(sampleValue(samples, 'grpc_server_handled_total', { grpc_method: 'Echo', grpc_code: 'InvalidArgument' }), 1);
    assert.equal(await healthStatus(service.address), 'SERVING');
  });
});

describe('shutdown drain delay (SHUTDOWN_DRAIN_DELAY_MS)', () => {
  it('reports NOT_SERVING while still serving calls for the delay, then stops', async () => {
    const service = await startInProcess(ECHO_SERVICE_NAME, startEchoService, testConfig({ shutdownDrainDelayMs: 2000 }));
    const client = new EchoServiceClient(service.address, credentials.createInsecure());
    try {
      const echo = unary(client, client.echo);
      assert.equal((await echo({ text: 'before' })).text, 'before');
      const stopped = service.stop();
      // Within the delay: load balancers see NOT_SERVING, callers still get answers.
      assert.equal(await healthStatus(service.address), 'NOT_SERVING');
      assert.equal((await echo({ text: 'during' })).text, 'during');
      await stopped;
      await expectStatus(echo({ text: 'after' }, { deadline: Date.now() + 5000 }), Code.UNAVAILABLE);
    } finally {
      client.close();
    }
  });
});
