import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, status as Code } from '@grpc/grpc-js';
import { DEFAULT_MAX_MESSAGE_BYTES, dropDatabase } from '@platform/service-kit';
import { isServerFaultCode } from '@platform/telemetry';
import {
  freshDatabaseUrl,
  fuzzTargets,
  healthStatus,
  RawClient,
  RequestFuzzer,
  startInProcess,
  testConfig,
  type FuzzKind,
  type FuzzTarget,
  unary,
  type InProcessService,
} from '@platform/testing';
import {
  CreateUserRequest,
  GetUserRequest,
  ListUsersRequest,
  protoMetadata as userProto,
  UserServiceClient,
} from '@platform/contracts/user/v1/user';
import { SERVICE_NAME as USER_SERVICE_NAME, startUserService } from '@platform/user-service';
import {
  CancelOrderRequest,
  CreateOrderRequest,
  GetOrderRequest,
  ListOrdersRequest,
  OrderServiceClient,
  protoMetadata as orderProto,
  WatchOrdersRequest,
} from '@platform/contracts/order/v1/order';
import type { OrderServiceConfig } from '../src/config';
import { SERVICE_NAME, startOrderService } from '../src/internal/server';

/** Cases per method; FUZZ_CASES_PER_METHOD runs more (or fewer). */
const CASES_PER_METHOD = Number(process.env.FUZZ_CASES_PER_METHOD) || 2000;
/** Printed, so that a failure can be replayed with FUZZ_SEED. */
const SEED = Number(process.env.FUZZ_SEED) || 20_251_121;
/** Calls in flight at once. */
const CONCURRENCY = 8;

describe('malformed and hostile requests, against both services on PostgreSQL', () => {
  let userDatabase: string;
  let orderDatabase: string;
  let userService: InProcessService;
  let orderService: InProcessService;
  /** Well-formed requests naming a user and an order that exist, for the fuzzer to start from. */
  let examples: Map<string, Uint8Array[]>;

  before(async () => {
    userDatabase = await freshDatabaseUrl('users');
    orderDatabase = await freshDatabaseUrl('orders');
    userService = await startInProcess(USER_SERVICE_NAME, startUserService, testConfig({ databaseUrl: userDatabase }));
    const config: OrderServiceConfig = {
      ...testConfig({ databaseUrl: orderDatabase }),
      userServiceAddr: userService.address,
      userServiceTimeoutMs: 5000,
    };
    orderService = await startInProcess(SERVICE_NAME, startOrderService, config);

    const users = new UserServiceClient(userService.address, credentials.createInsecure());
    const orders = new OrderServiceClient(orderService.address, credentials.createInsecure());
    const { id: userId } = await unary(users, users.createUser)({ email: 'fuzz@example.com', displayName: 'Fuzz' });
    const createOrder = CreateOrderRequest.fromPartial({
      userId,
      currency: 'EUR',
      requestId: 'fuzz-1',
      items: [{ sku: 'BOOK-42', quantity: 2, unitPriceCents: 1999n }],
    });
    const { id: orderId } = await unary(orders, orders.createOrder)(createOrder);
    users.close();
    orders.close();
    const bytes = <T>(codec: { encode(message: T): { finish(): Uint8Array } }, ...messages: T[]) =>
      messages.map((message) => codec.encode(message).finish());
    examples = new Map([
      ['/user.v1.UserService/CreateUser', bytes(CreateUserRequest, { email: 'fuzz.new@example.com', displayName: 'New' })],
      ['/user.v1.UserService/GetUser', bytes(GetUserRequest, { id: userId })],
      ['/user.v1.UserService/ListUsers', bytes(ListUsersRequest, { pageSize: 10, pageToken: '' })],
      ['/order.v1.OrderService/CreateOrder', bytes(CreateOrderRequest, createOrder, { ...createOrder, requestId: '' })],
      ['/order.v1.OrderService/BulkCreateOrders', bytes(CreateOrderRequest, createOrder, { ...createOrder, requestId: 'fuzz-2' })],
      ['/order.v1.OrderService/GetOrder', bytes(GetOrderRequest, { id: orderId })],
      ['/order.v1.OrderService/CancelOrder', bytes(CancelOrderRequest, { id: orderId })],
      ['/order.v1.OrderService/ListOrders', bytes(ListOrdersRequest, { userId, pageSize: 5, pageToken: '' })],
      ['/order.v1.OrderService/WatchOrders', bytes(WatchOrdersRequest, { userId })],
    ]);
  });

  after(async () => {
    await orderService.stop();
    await userService.stop();
    await dropDatabase(orderDatabase);
    await dropDatabase(userDatabase);
  });

  // About a minute for its 18,000 cases on a 2-core machine: the workspace's test timeout is 5 minutes for it.
  it("answers every case of every method with a status of the caller's making, never INTERNAL or UNKNOWN", async (t) => {
    const targets: [FuzzTarget, InProcessService][] = [
      ...fuzzTargets(userProto).map((target) => [target, userService] as [FuzzTarget, InProcessService]),
      ...fuzzTargets(orderProto).map((target) => [target, orderService] as [FuzzTarget, InProcessService]),
    ];
    assert.equal(targets.length, 9, 'three User methods and six Order methods');
    assert.deepEqual(targets.map(([target]) => target.path).sort(), [...examples.keys()].sort(), 'an example for every method');
    const fuzzer = new RequestFuzzer({
      seed: SEED,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      metadata: [userProto, orderProto],
      examples,
    });
    // A connection per worker, as independent callers have: the unread bytes of large streaming
    // requests on one connection count against its shared HTTP/2 window, so that other workers'
    // calls would wait for them.
    const clients = Array.from(
      { length: CONCURRENCY },
      () =>
        new Map(
          [userService, orderService].map((service) => [service, new RawClient(service.address, undefined, { ownConnection: true })]),
        ),
    );
    const statuses = new Map<string, number>();
    const kinds = new Map<FuzzKind, number>();
    const failures: string[] = [];
    let cases = 0;
    try {
      for (const [target, service] of targets) {
        const queue = Array.from({ length: CASES_PER_METHOD }, () => fuzzer.next(target));
        const worker = async (clientsOfWorker: Map<InProcessService, RawClient>) => {
          for (let next = queue.shift(); next; next = queue.shift()) {
            const { kind, frames } = next;
            // Each call its own caller, so that no budget or state ties the cases together.
            const metadata = new Metadata();
            metadata.set('x-client-id', `fuzz-${cases}`);
            const outcome = await clientsOfWorker.get(service)!.call(target, frames, { deadlineMs: 10_000, metadata });
            cases += 1;
            kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
            const label =
              outcome.kind === 'live'
                ? 'stream opened (cancelled by the client)'
                : (Code[outcome.status.code] ?? `code ${outcome.status.code}`);
            statuses.set(`${target.path} ${label}`, (statuses.get(`${target.path} ${label}`) ?? 0) + 1);
            if (outcome.kind === 'live') continue;
            const { code, details } = outcome.status;
            const wellFormed = Number.isInteger(code) && code >= Code.OK && code <= Code.UNAUTHENTICATED && typeof details === 'string';
            if (!wellFormed || isServerFaultCode(code)) {
              failures.push(
                `${target.path} ${kind} (${frames.map((frame) => frame.length).join('+')} bytes, first 32: ${frames[0]?.subarray(0, 32).toString('hex')}): ${Code[code] ?? code} ${details}`,
              );
            }
          }
        };
        await Promise.all(clients.map(worker));
      }
    } finally {
      clients.forEach((ofWorker) => ofWorker.forEach((client) => client.close()));
    }

    t.diagnostic(`seed ${SEED}: ${cases} cases, ${CASES_PER_METHOD} per method over ${targets.length} methods`);
    t.diagnostic(
      `kinds: ${[...kinds]
        .sort()
        .map(([kind, count]) => `${kind} ${count}`)
        .join(', ')}`,
    );
    for (const [status, count] of [...statuses].sort()) t.diagnostic(`${status}: ${count}`);
    assert.equal(cases, CASES_PER_METHOD * targets.length);
    const replay = `FUZZ_SEED=${SEED} FUZZ_CASES_PER_METHOD=${CASES_PER_METHOD} node --test services/order/dist/test/fuzz.test.js`;
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${cases} cases got a server-fault status; replay: ${replay}`);
    // Still up and healthy after all of it.
    assert.equal(await healthStatus(userService.address), 'SERVING');
    assert.equal(await healthStatus(orderService.address), 'SERVING');
  });
});
