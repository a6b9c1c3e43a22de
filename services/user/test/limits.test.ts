import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectivityState, credentials } from '@grpc/grpc-js';
import { Code } from '@platform/service-kit';
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
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { SERVICE_NAME, startUserService } from '../src/internal/server';

describe('message size limits (GRPC_MAX_RECEIVE_MESSAGE_BYTES, GRPC_MAX_MESSAGE_BYTES)', () => {
  let service: InProcessService;
  let client: UserServiceClient;

  before(async () => {
    service = await startInProcess(
      SERVICE_NAME,
      startUserService,
      testConfig({ grpcMaxMessageBytes: 1024, grpcMaxReceiveMessageBytes: 1024 }),
    );
    client = new UserServiceClient(service.address, credentials.createInsecure());
  });

  after(async () => {
    client.close();
    await service.stop();
  });

  it('rejects a request larger than the limit with RESOURCE_EXHAUSTED, before validation sees it', async () => {
    const createUser = unary(client, client.createUser);
    // Under the limit, the same mistake reaches validation.
    await expectStatus(createUser({ email: 'big@example.com', displayName: 'x'.repeat(900) }), Code.INVALID_ARGUMENT);
    const error = await expectStatus(createUser({ email: 'big@example.com', displayName: 'x'.repeat(2000) }), Code.RESOURCE_EXHAUSTED);
    assert.match(error.details, /larger than/);
  });

  it('cuts a page that would exceed the limit short, with a token for the rest, instead of failing the listing', async () => {
    const createUser = unary(client, client.createUser);
    const listUsers = unary(client, client.listUsers);
    const created: string[] = [];
    for (let index = 0; index < 12; index += 1)
      created.push((await createUser({ email: `user${index}@example.com`, displayName: 'y'.repeat(100) })).id);
    // Twelve users of some 150 bytes each: about 1.8 KiB, beyond the 1 KiB limit in one page.
    const first = await listUsers({ pageSize: 12, pageToken: '' });
    assert.ok(first.users.length > 0 && first.users.length < 12, `${first.users.length} users in the first page`);
    assert.notEqual(first.nextPageToken, '');
    const seen = first.users.map((user) => user.id);
    for (let token = first.nextPageToken; token !== '';) {
      const page = await listUsers({ pageSize: 12, pageToken: token });
      seen.push(...page.users.map((user) => user.id));
      token = page.nextPageToken;
    }
    assert.deepEqual(seen, created, 'every user once, in order');
  });
});

describe('connection age (GRPC_MAX_CONNECTION_AGE_MS)', () => {
  it('tells a connection older than the limit to go away, and the client carries on over a new one', async () => {
    const service = await startInProcess(SERVICE_NAME, startUserService, testConfig({ grpcMaxConnectionAgeMs: 200 }));
    const client = new UserServiceClient(service.address, credentials.createInsecure());
    try {
      await unary(client, client.listUsers)({ pageSize: 1, pageToken: '' });
      const channel = client.getChannel();
      assert.equal(channel.getConnectivityState(false), connectivityState.READY);
      // The GOAWAY turns the channel idle; a connection without an age limit would stay ready past this bound.
      const next = await new Promise<connectivityState>((resolve, reject) =>
        channel.watchConnectivityState(connectivityState.READY, Date.now() + 10_000, (error) =>
          error ? reject(error) : resolve(channel.getConnectivityState(false)),
        ),
      );
      assert.notEqual(next, connectivityState.READY);
      assert.equal((await unary(client, client.listUsers)({ pageSize: 1, pageToken: '' })).users.length, 0);
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
    service = await startInProcess(SERVICE_NAME, startUserService, testConfig());
    raw = new RawClient(service.address);
  });

  after(async () => {
    raw.close();
    await service.stop();
  });

  it('are INVALID_ARGUMENT, not INTERNAL, for the service, health and reflection alike, and counted so', async () => {
    // A group (field 1) that never ends: every decoder runs out of bytes looking for its end.
    const malformed = Buffer.from([0x0b]);
    for (const path of ['/user.v1.UserService/GetUser', '/grpc.health.v1.Health/Check']) {
      const outcome = await raw.call({ path, requestStream: false, responseStream: false }, [malformed], { deadlineMs: 10_000 });
      assert.equal(outcome.kind, 'status');
      assert.equal(outcome.kind === 'status' && outcome.status.code, Code.INVALID_ARGUMENT, path);
      assert.match(outcome.kind === 'status' ? outcome.status.details : '', /malformed request/);
    }
    const reflection = { path: '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', requestStream: true, responseStream: true };
    const outcome = await raw.call(reflection, [malformed], { deadlineMs: 10_000 });
    assert.equal(outcome.kind === 'status' && outcome.status.code, Code.INVALID_ARGUMENT);

    const { samples } = await scrapeMetrics(service.telemetry.metricsPort);
    assert.equal(sampleValue(samples, 'grpc_server_handled_total', { grpc_method: 'GetUser', grpc_code: 'InvalidArgument' }), 1);
    assert.equal(await healthStatus(service.address), 'SERVING');
  });
});

describe('shutdown drain delay (SHUTDOWN_DRAIN_DELAY_MS)', () => {
  it('reports NOT_SERVING while still serving calls for the delay, then stops', async () => {
    const service = await startInProcess(SERVICE_NAME, startUserService, testConfig({ shutdownDrainDelayMs: 2000 }));
    const client = new UserServiceClient(service.address, credentials.createInsecure());
    try {
      const created = await unary(client, client.createUser)({ email: 'drain@example.com', displayName: 'Drain' });
      const stopped = service.stop();
      // Within the delay: load balancers see NOT_SERVING, callers still get answers.
      assert.equal(await healthStatus(service.address), 'NOT_SERVING');
      assert.equal((await unary(client, client.getUser)({ id: created.id })).id, created.id);
      await stopped;
      await expectStatus(unary(client, client.getUser)({ id: created.id }, { deadline: Date.now() + 5000 }), Code.UNAVAILABLE);
    } finally {
      client.close();
    }
  });
});
