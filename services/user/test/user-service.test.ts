import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { Code, dropDatabase, PageTokens } from '@platform/service-kit';
import {
  expectStatus,
  expectViolations,
  freshDatabaseUrl,
  healthStatus,
  ReflectionProbe,
  sampleValue,
  scrapeMetrics,
  startInProcess,
  testConfig,
  unary,
  type InProcessService,
} from '@platform/testing';
import { UserServiceClient, type User } from '@platform/contracts/user/v1/user';
import { SERVICE_NAME, startUserService } from '../src/internal/server';

describe('user.v1.UserService over gRPC, on PostgreSQL', () => {
  let databaseUrl: string;
  let service: InProcessService;
  let address: string;
  let client: UserServiceClient;
  let createUser: (request: { email: string; displayName: string }) => Promise<User>;
  let getUser: (request: { id: string }) => Promise<User>;
  let listUsers: (request: { pageSize: number; pageToken: string }) => Promise<{ users: User[]; nextPageToken: string }>;

  before(async () => {
    databaseUrl = await freshDatabaseUrl('users');
    service = await startInProcess(SERVICE_NAME, startUserService, testConfig({ databaseUrl }));
    address = service.address;
    client = new UserServiceClient(address, credentials.createInsecure());
    createUser = unary(client, client.createUser);
    getUser = unary(client, client.getUser);
    listUsers = unary(client, client.listUsers);
  });

  after(async () => {
    client.close();
    await service.stop();
    await dropDatabase(databaseUrl);
  });

  it('creates a user and gets it back', async () => {
    const created = await createUser({ email: 'ada@example.com', displayName: ' Ada Lovelace ' });
    assert.equal(created.displayName, 'Ada Lovelace');
    assert.ok(created.createTime instanceof Date);
    assert.deepEqual(await getUser({ id: created.id }), created);
    assert.deepEqual(await getUser({ id: created.id.toUpperCase() }), created, 'ids are case-insensitive like UUIDs');
  });

  it('answers ALREADY_EXISTS for an email taken in another letter case', async () => {
    await createUser({ email: 'alan@example.com', displayName: 'Alan' });
    const error = await expectStatus(createUser({ email: 'ALAN@example.com', displayName: 'Alan 2' }), Code.ALREADY_EXISTS);
    assert.match(error.details, /already exists/);
  });

  it('answers INVALID_ARGUMENT naming every bad field', async () => {
    assert.deepEqual(await expectViolations(createUser({ email: 'nope', displayName: '  ' })), ['email', 'display_name']);
    assert.deepEqual(await expectViolations(getUser({ id: 'not-a-uuid' })), ['id']);
    assert.deepEqual(await expectViolations(listUsers({ pageSize: -5, pageToken: '' })), ['page_size']);
    assert.deepEqual(await expectViolations(listUsers({ pageSize: 5, pageToken: 'bogus' })), ['page_token']);
    const foreign = new PageTokens(testConfig().pageTokenKey!).encode({ listing: 'orders', scope: '', after: '1' });
    assert.deepEqual(await expectViolations(listUsers({ pageSize: 5, pageToken: foreign })), ['page_token']);
  });

  it('rejects forged and edited page tokens as INVALID_ARGUMENT, never INTERNAL', async () => {
    const forged = (cursor: object) => Buffer.from(JSON.stringify(cursor)).toString('base64url');
    // A position beyond PostgreSQL's bigint, and one that is not a number.
    for (const after of ['9999999999999999999', '-1', '1e3']) {
      assert.deepEqual(
        await expectViolations(listUsers({ pageSize: 5, pageToken: forged({ l: 'users', s: '', a: after }) })),
        ['page_token'],
        after,
      );
    }
    for (let i = 0; i < 3; i++) await createUser({ email: `token${i}@example.com`, displayName: `T${i}` });
    const { nextPageToken } = await listUsers({ pageSize: 1, pageToken: '' });
    /** The token with its position changed and everything else kept. */
    const edited = (position: (after: bigint) => bigint) => {
      const [body, ...rest] = nextPageToken.split('.');
      const cursor = JSON.parse(Buffer.from(body!, 'base64url').toString()) as { a: string };
      return [forged({ ...cursor, a: String(position(BigInt(cursor.a))) }), ...rest].join('.');
    };
    for (const token of [edited(() => 0n), edited((after) => after + 1n)]) {
      assert.deepEqual(await expectViolations(listUsers({ pageSize: 1, pageToken: token })), ['page_token']);
    }
    assert.equal((await listUsers({ pageSize: 1, pageToken: nextPageToken })).users.length, 1, 'the token as issued still works');
  });

  it('answers NOT_FOUND for an unknown id', async () => {
    await expectStatus(getUser({ id: '3f0e8b52-8f7a-4c43-9d4a-2f5d1e0c9b11' }), Code.NOT_FOUND);
  });

  it('lists every user exactly once across pages', async () => {
    for (let i = 0; i < 5; i++) await createUser({ email: `list${i}@example.com`, displayName: `L${i}` });
    const ids: string[] = [];
    let pageToken = '';
    do {
      const page = await listUsers({ pageSize: 2, pageToken });
      assert.ok(page.users.length <= 2);
      ids.push(...page.users.map((user) => user.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    const all = await listUsers({ pageSize: 0, pageToken: '' });
    assert.deepEqual(
      ids,
      all.users.map((user) => user.id),
    );
    assert.equal(new Set(ids).size, ids.length);
  });

  it('reports SERVING for the server and for user.v1.UserService', async () => {
    assert.equal(await healthStatus(address), 'SERVING');
    assert.equal(await healthStatus(address, 'user.v1.UserService'), 'SERVING');
  });

  it('describes itself through server reflection, imports included', async () => {
    const probe = new ReflectionProbe(address);
    try {
      const services = await probe.listServices();
      assert.ok(services.includes('user.v1.UserService'), services.join());
      assert.ok(services.includes('grpc.health.v1.Health'), services.join());
      const files = await probe.resolveSymbol('user.v1.UserService');
      assert.ok(files.has('user/v1/user.proto'));
      assert.ok(files.has('google/protobuf/timestamp.proto'));
    } finally {
      probe.close();
    }
  });

  it('counts every call by method and code, as go-grpc-prometheus does', async () => {
    const before = (await scrapeMetrics(service.telemetry.metricsPort)).samples;
    const ada = await createUser({ email: 'counted@example.com', displayName: 'Counted' });
    for (let i = 0; i < 3; i++) await getUser({ id: ada.id });
    await expectStatus(getUser({ id: 'nope' }), Code.INVALID_ARGUMENT);
    await expectStatus(getUser({ id: 'still-nope' }), Code.INVALID_ARGUMENT);
    await expectStatus(getUser({ id: '3f0e8b52-8f7a-4c43-9d4a-2f5d1e0c9b12' }), Code.NOT_FOUND);
    const after = (await scrapeMetrics(service.telemetry.metricsPort)).samples;

    const getUserLabels = { grpc_type: 'unary', grpc_service: 'user.v1.UserService', grpc_method: 'GetUser' };
    const delta = (name: string, labels: Record<string, string>) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
    assert.equal(delta('grpc_server_started_total', getUserLabels), 6);
    assert.equal(delta('grpc_server_handled_total', { ...getUserLabels, grpc_code: 'OK' }), 3);
    assert.equal(delta('grpc_server_handled_total', { ...getUserLabels, grpc_code: 'InvalidArgument' }), 2);
    assert.equal(delta('grpc_server_handled_total', { ...getUserLabels, grpc_code: 'NotFound' }), 1);
    assert.equal(delta('grpc_server_handling_seconds_count', { ...getUserLabels, grpc_code: 'OK' }), 3);
    assert.equal(delta('grpc_server_msg_received_total', getUserLabels), 6);
    assert.equal(delta('grpc_server_msg_sent_total', getUserLabels), 3, 'failed calls send no message');
    assert.equal(delta('app_users_created_total', {}), 1);
    assert.ok(sampleValue(after, 'pg_pool_max_connections') > 0, 'pool gauges are exported');
    assert.ok(
      after.some((sample) => sample.name === 'nodejs_eventloop_lag_seconds'),
      'runtime metrics are exported',
    );
  });
});
