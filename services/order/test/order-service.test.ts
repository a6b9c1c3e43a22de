import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { Code, dropDatabase, fieldViolationsOf } from '@platform/service-kit';
import {
  expectStatus,
  expectViolations,
  freePort,
  freshDatabaseUrl,
  headersReceived,
  healthStatus,
  RawClient,
  ReflectionProbe,
  sampleValue,
  scrapeMetrics,
  startInProcess,
  testConfig,
  unary,
  type InProcessService,
} from '@platform/testing';
import { SERVICE_NAME as USER_SERVICE_NAME, startUserService } from '@platform/user-service';
import {
  CreateOrderRequest,
  OrderEventType,
  OrderServiceClient,
  OrderServiceService,
  OrderStatus,
  type BulkCreateOrdersResponse,
  type OrderEvent,
} from '@platform/contracts/order/v1/order';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import type { OrderServiceConfig } from '../src/config';
import { SERVICE_NAME, startOrderService } from '../src/internal/server';

/** A well-formed id that no user has. */
const UNKNOWN_USER = '7b1f8c2e-4a5d-4e6f-8a9b-0c1d2e3f4a5b';

function baseConfig(databaseUrl: string | undefined, userServiceAddr: string): OrderServiceConfig {
  return { ...testConfig({ databaseUrl, shutdownGraceMs: 5000 }), userServiceAddr, userServiceTimeoutMs: 5000 };
}

function orderClient(service: InProcessService): OrderServiceClient {
  return new OrderServiceClient(`127.0.0.1:${service.port}`, credentials.createInsecure());
}

function readAll<T>(stream: ClientReadableStream<T>): Promise<{ messages: T[]; error?: ServiceError }> {
  const messages: T[] = [];
  return new Promise((resolve) => {
    stream.on('data', (message: T) => messages.push(message));
    stream.on('error', (error: ServiceError) => resolve({ messages, error }));
    stream.on('end', () => resolve({ messages }));
  });
}

describe('order.v1.OrderService over gRPC, calling user.v1.UserService, on PostgreSQL', () => {
  let databaseUrl: string;
  let userService: InProcessService;
  let replicaA: InProcessService;
  let replicaB: InProcessService;
  let a: OrderServiceClient;
  let b: OrderServiceClient;
  let userId: string;
  let otherUserId: string;
  const items = [
    { sku: 'BOOK-42', quantity: 3, unitPriceCents: 1999n },
    { sku: 'PEN_blue', quantity: 1, unitPriceCents: 250n },
  ];

  before(async () => {
    userService = await startInProcess(USER_SERVICE_NAME, startUserService, baseConfig(undefined, ''));
    const userAddress = `127.0.0.1:${userService.port}`;
    const users = new UserServiceClient(userAddress, credentials.createInsecure());
    userId = (await unary(users, users.createUser)({ email: 'buyer@example.com', displayName: 'Buyer' })).id;
    otherUserId = (await unary(users, users.createUser)({ email: 'other@example.com', displayName: 'Other' })).id;
    users.close();

    databaseUrl = await freshDatabaseUrl('orders');
    replicaA = await startInProcess(SERVICE_NAME, startOrderService, baseConfig(databaseUrl, userAddress));
    replicaB = await startInProcess(SERVICE_NAME, startOrderService, baseConfig(databaseUrl, userAddress));
    a = orderClient(replicaA);
    b = orderClient(replicaB);
  });

  after(async () => {
    a.close();
    b.close();
    await replicaA.stop();
    await replicaB.stop();
    await userService.stop();
    await dropDatabase(databaseUrl);
  });

  const create = (request: Partial<CreateOrderRequest>) =>
    unary(a, a.createOrder)({ userId, items, currency: 'EUR', requestId: '', ...request });

  it('creates an order for an existing user, with the total computed by the server', async () => {
    const order = await create({});
    assert.equal(order.userId, userId);
    assert.equal(order.totalCents, 6247n);
    assert.equal(order.status, OrderStatus.ORDER_STATUS_CREATED);
    assert.deepEqual(order.items, items);
    assert.deepEqual(await unary(b, b.getOrder)({ id: order.id }), order, 'the other replica reads the same order');
  });

  it('answers FAILED_PRECONDITION for a user that does not exist', async () => {
    const error = await expectStatus(create({ userId: UNKNOWN_USER }), Code.FAILED_PRECONDITION);
    assert.match(error.details, /does not exist/);
  });

  it('answers INVALID_ARGUMENT naming every bad field of CreateOrder', async () => {
    const fields = await expectViolations(
      create({
        userId: 'x',
        currency: 'euro',
        items: [
          { sku: 'ok', quantity: 0, unitPriceCents: 5n },
          { sku: 'no spaces', quantity: 1, unitPriceCents: -1n },
        ],
      }),
    );
    assert.deepEqual(fields.sort(), ['currency', 'items[0].quantity', 'items[1].sku', 'items[1].unit_price_cents', 'user_id']);
    assert.deepEqual(await expectViolations(create({ items: [] })), ['items']);
  });

  it('is idempotent per request_id: same payload replays, a different one is ALREADY_EXISTS', async () => {
    const first = await create({ requestId: 'cart-7' });
    assert.deepEqual(await create({ requestId: 'cart-7' }), first);
    await expectStatus(create({ requestId: 'cart-7', currency: 'USD' }), Code.ALREADY_EXISTS);
  });

  it('gets, cancels and refuses to cancel twice; unknown and malformed ids', async () => {
    const order = await create({});
    const cancelled = await unary(b, b.cancelOrder)({ id: order.id });
    assert.equal(cancelled.status, OrderStatus.ORDER_STATUS_CANCELLED);
    await expectStatus(unary(a, a.cancelOrder)({ id: order.id }), Code.FAILED_PRECONDITION);
    await expectStatus(unary(a, a.getOrder)({ id: '5c0a6f3e-1b2d-4c5e-9f8a-7b6c5d4e3f2a' }), Code.NOT_FOUND);
    await expectStatus(unary(a, a.cancelOrder)({ id: '5c0a6f3e-1b2d-4c5e-9f8a-7b6c5d4e3f2a' }), Code.NOT_FOUND);
    assert.deepEqual(await expectViolations(unary(a, a.getOrder)({ id: '42' })), ['id']);
    assert.deepEqual(await expectViolations(unary(a, a.cancelOrder)({ id: '' })), ['id']);
  });

  it("lists a user's orders exactly once across pages and rejects another filter's token", async () => {
    const mine = [await create({}), await create({})];
    await create({ userId: otherUserId });
    const all = await unary(a, a.listOrders)({ userId, pageSize: 1000, pageToken: '' });
    assert.ok(all.orders.every((order) => order.userId === userId));
    const ids: string[] = [];
    let pageToken = '';
    let firstToken = '';
    do {
      const page = await unary(b, b.listOrders)({ userId, pageSize: 2, pageToken });
      ids.push(...page.orders.map((order) => order.id));
      pageToken = page.nextPageToken;
      firstToken ||= pageToken;
    } while (pageToken !== '');
    assert.deepEqual(
      ids,
      all.orders.map((order) => order.id),
    );
    assert.ok(mine.every((order) => ids.includes(order.id)));
    assert.deepEqual(await expectViolations(unary(a, a.listOrders)({ userId: otherUserId, pageSize: 2, pageToken: firstToken })), [
      'page_token',
    ]);
    assert.deepEqual(await expectViolations(unary(a, a.listOrders)({ userId: '', pageSize: -1, pageToken: '' })), ['page_size']);
    const forged = Buffer.from(JSON.stringify({ l: 'orders', s: '', a: '9999999999999999999' })).toString('base64url');
    assert.deepEqual(await expectViolations(unary(a, a.listOrders)({ userId: '', pageSize: 2, pageToken: forged })), ['page_token']);
  });

  it("streams one user's events from another replica and ends cleanly when the client cancels", async () => {
    const stream = b.watchOrders({ userId });
    const received: OrderEvent[] = [];
    const twoEvents = new Promise<void>((resolve) =>
      stream.on('data', (event: OrderEvent) => {
        received.push(event);
        if (received.length === 2) resolve();
      }),
    );
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    await headersReceived(stream);
    await create({ userId: otherUserId });
    const order = await create({});
    await unary(a, a.cancelOrder)({ id: order.id });
    await twoEvents;
    assert.deepEqual(
      received.map((event) => [event.type, event.order?.id, event.order?.status]),
      [
        [OrderEventType.ORDER_EVENT_TYPE_CREATED, order.id, OrderStatus.ORDER_STATUS_CREATED],
        [OrderEventType.ORDER_EVENT_TYPE_CANCELLED, order.id, OrderStatus.ORDER_STATUS_CANCELLED],
      ],
    );
    stream.cancel();
    assert.equal((await ended).code, Code.CANCELLED);
    // The replica keeps serving after the cancelled stream.
    assert.equal((await unary(b, b.getOrder)({ id: order.id })).id, order.id);
  });

  it('answers every BulkCreateOrders request in order; bad items get a status and the stream goes on', async () => {
    const stream = a.bulkCreateOrders();
    const done = readAll<BulkCreateOrdersResponse>(stream);
    stream.write({ userId, items, currency: 'EUR', requestId: 'bulk-1' });
    stream.write({ userId, items: [{ sku: 'A', quantity: 0, unitPriceCents: 1n }], currency: 'EUR', requestId: 'bulk-2' });
    stream.write({ userId: UNKNOWN_USER, items, currency: 'EUR', requestId: 'bulk-3' });
    stream.write({ userId, items, currency: 'USD', requestId: 'bulk-4' });
    stream.end();
    const { messages, error } = await done;
    assert.equal(error, undefined);
    assert.deepEqual(
      messages.map((message) => message.requestId),
      ['bulk-1', 'bulk-2', 'bulk-3', 'bulk-4'],
    );
    assert.deepEqual(
      messages.map((message) => message.result?.$case),
      ['order', 'status', 'status', 'order'],
    );
    const invalid = messages[1]!.result;
    assert.ok(invalid?.$case === 'status');
    assert.equal(invalid.value.code, Code.INVALID_ARGUMENT);
    assert.deepEqual(
      fieldViolationsOf(invalid.value).map((violation) => violation.field),
      ['items[0].quantity'],
    );
    const unknownUser = messages[2]!.result;
    assert.ok(unknownUser?.$case === 'status');
    assert.equal(unknownUser.value.code, Code.FAILED_PRECONDITION);
  });

  it('ends BulkCreateOrders with INVALID_ARGUMENT for a malformed message while answers to earlier ones are still going out', async () => {
    // The first answer echoes a 1 MiB request_id: more than the client's flow-control window, so it is still being sent
    // when grpc-js, reading ahead, hands over the second message (invalid: answered at once) and the third. The answer
    // to the second must not be written after the end of the response: the trailers were then never sent, and the
    // client waited to its deadline (found by the fuzz test at 2000 cases per method).
    const client = new RawClient(replicaA.address, undefined, { ownConnection: true });
    try {
      const encode = (request: Partial<CreateOrderRequest>) =>
        Buffer.from(CreateOrderRequest.encode(CreateOrderRequest.fromPartial(request)).finish());
      const hugeAnswer = encode({ userId, items, currency: 'EUR', requestId: 'r'.repeat(2 ** 20) });
      const invalid = encode({
        userId,
        items: [{ sku: 'A', quantity: 0, unitPriceCents: 1n }],
        currency: 'EUR',
        requestId: 'bulk-read-ahead',
      });
      const notUtf8UserId = Buffer.from([0x0a, 0x02, 0xff, 0xfe]);
      const outcome = await client.call(OrderServiceService.bulkCreateOrders, [hugeAnswer, invalid, notUtf8UserId], { deadlineMs: 10_000 });
      assert.ok(outcome.kind === 'status');
      assert.deepEqual(
        { code: outcome.status.code, details: outcome.status.details },
        { code: Code.INVALID_ARGUMENT, details: 'invalid request: user_id: must be valid UTF-8' },
      );
    } finally {
      client.close();
    }
  });

  it('answers UNAVAILABLE, never INTERNAL, when the user service is unreachable', async () => {
    const orphan = await startInProcess(SERVICE_NAME, startOrderService, baseConfig(databaseUrl, `127.0.0.1:${await freePort()}`));
    const client = orderClient(orphan);
    try {
      const error = await expectStatus(
        unary(client, client.createOrder)({ userId, items, currency: 'EUR', requestId: '' }),
        Code.UNAVAILABLE,
      );
      assert.match(error.details, /user service is unavailable/);
    } finally {
      client.close();
      await orphan.stop();
    }
  });

  it('ends open WatchOrders streams with UNAVAILABLE on shutdown and reports NOT_SERVING', async () => {
    const leaving = await startInProcess(SERVICE_NAME, startOrderService, baseConfig(databaseUrl, `127.0.0.1:${userService.port}`));
    const address = `127.0.0.1:${leaving.port}`;
    assert.equal(await healthStatus(address, 'order.v1.OrderService'), 'SERVING');
    const client = orderClient(leaving);
    try {
      const stream = client.watchOrders({ userId: '' });
      const outcome = readAll(stream);
      await headersReceived(stream);
      await leaving.stop();
      const { error } = await outcome;
      assert.equal(error?.code, Code.UNAVAILABLE);
      assert.match(error?.details ?? '', /shutting down/);
    } finally {
      client.close();
      await leaving.stop();
    }
  });

  it('describes itself through reflection, including google.rpc.Status from another file', async () => {
    const probe = new ReflectionProbe(`127.0.0.1:${replicaA.port}`);
    try {
      assert.ok((await probe.listServices()).includes('order.v1.OrderService'));
      const files = await probe.resolveSymbol('order.v1.OrderService');
      for (const name of [
        'order/v1/order.proto',
        'google/rpc/status.proto',
        'google/protobuf/any.proto',
        'google/protobuf/timestamp.proto',
      ]) {
        assert.ok(files.has(name), `reflection resolves ${name}`);
      }
    } finally {
      probe.close();
    }
  });

  it('reports the User calls it makes and the orders it takes, replays excluded', async () => {
    const before = (await scrapeMetrics(replicaA.telemetry.metricsPort)).samples;
    const first = await create({ requestId: 'metrics-1', currency: 'CHF' });
    await create({ requestId: 'metrics-1', currency: 'CHF' });
    await create({ currency: 'XAF' });
    await create({ currency: 'JPY' });
    await expectStatus(create({ userId: UNKNOWN_USER }), Code.FAILED_PRECONDITION);
    await unary(a, a.cancelOrder)({ id: first.id });
    const after = (await scrapeMetrics(replicaA.telemetry.metricsPort)).samples;
    const delta = (name: string, labels: Record<string, string>) => sampleValue(after, name, labels) - sampleValue(before, name, labels);

    const getUser = { grpc_type: 'unary', grpc_service: 'user.v1.UserService', grpc_method: 'GetUser' };
    assert.equal(delta('grpc_client_started_total', getUser), 5);
    assert.equal(delta('grpc_client_handled_total', { ...getUser, grpc_code: 'OK' }), 4);
    assert.equal(delta('grpc_client_handled_total', { ...getUser, grpc_code: 'NotFound' }), 1);
    assert.equal(delta('grpc_client_handling_seconds_count', { ...getUser, grpc_code: 'OK' }), 4);
    assert.equal(delta('grpc_server_handled_total', { grpc_method: 'CreateOrder', grpc_code: 'FailedPrecondition' }), 1);
    // The same calls as gRFC A66 / OpenTelemetry instruments, under Prometheus's OpenTelemetry naming.
    const createOrder = { grpc_method: 'order.v1.OrderService/CreateOrder' };
    assert.equal(delta('grpc_server_call_started_total', createOrder), 5);
    assert.equal(delta('grpc_server_call_duration_seconds_count', { ...createOrder, grpc_status: 'OK' }), 4);
    assert.equal(delta('grpc_server_call_duration_seconds_count', { ...createOrder, grpc_status: 'FAILED_PRECONDITION' }), 1);
    const getUserCall = { grpc_method: 'user.v1.UserService/GetUser', grpc_target: `127.0.0.1:${userService.port}` };
    assert.equal(delta('grpc_client_call_duration_seconds_count', { ...getUserCall, grpc_status: 'OK' }), 4);
    assert.equal(delta('grpc_client_call_duration_seconds_count', { ...getUserCall, grpc_status: 'NOT_FOUND' }), 1);
    assert.equal(delta('app_orders_created_total', { currency: 'CHF' }), 1, 'the replay is not a new order');
    assert.equal(delta('app_orders_created_total', { currency: 'OTHER' }), 1, 'unlisted currencies share one label');
    assert.equal(delta('app_orders_cancelled_total', { currency: 'CHF' }), 1);
    // In major units, by the currency's own minor unit: 6247 in minor units is 62.47 francs, but 6247 yen.
    assert.equal(delta('app_order_value_sum', { currency: 'CHF' }), 62.47);
    assert.equal(delta('app_order_value_sum', { currency: 'JPY' }), 6247);
    assert.equal(
      delta('app_order_value_count', { currency: 'OTHER' }),
      0,
      'values of unlisted currencies cannot be added up, so they are not recorded',
    );
  });
});
