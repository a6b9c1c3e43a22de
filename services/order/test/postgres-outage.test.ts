/**
 * PostgreSQL restarts under load, with real processes and clusters of the
 * test's own (`pg_ctl stop -m fast`, then start): the services must survive,
 * answer UNAVAILABLE (retryable) rather than INTERNAL, report NOT_SERVING
 * while their database is down, and never let a WatchOrders stream skip
 * events in silence.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  eventually,
  headersReceived,
  healthStatus,
  serviceMain,
  startPrivatePostgres,
  startServiceProcess,
  unary,
  withDatabase,
  type PrivatePostgres,
  type ServiceProcess,
} from '@platform/testing';
import { OrderServiceClient, type OrderEvent } from '@platform/contracts/order/v1/order';
import { UserServiceClient } from '@platform/contracts/user/v1/user';

const ORDER_MAIN = path.resolve(__dirname, '../src/main.js');
const USER_MAIN = serviceMain('@platform/user-service');
/** Calls placed while the database is down, per outage: enough to meet every window of a call. */
const CALLS_PER_OUTAGE = 100;
const OUTAGES = 3;
/** How long calls to a frozen database may stay unanswered before the test calls it a defect. */
const FROZEN_CAP_MS = 45_000;

interface Outcome {
  phase: 'before' | 'outage' | 'after';
  code: number;
  id?: string;
}

/** A WatchOrders stream and what it delivered, until it ends. */
function watch(client: OrderServiceClient): {
  stream: ClientReadableStream<OrderEvent>;
  ids: Set<string>;
  ended: Promise<ServiceError | undefined>;
} {
  const stream = client.watchOrders({ userId: '' });
  const ids = new Set<string>();
  stream.on('data', (event: OrderEvent) => ids.add(event.order!.id));
  const ended = new Promise<ServiceError | undefined>((resolve) => {
    stream.on('error', (error: ServiceError) => resolve(error));
    stream.on('end', () => resolve(undefined));
  });
  return { stream, ids, ended };
}

const until = (what: string, condition: () => boolean | Promise<boolean>) =>
  eventually(async () => ((await condition()) ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 50,
    retryErrors: true,
    failure: () => `not reached: ${what}`,
  });

describe('a PostgreSQL restart under load', () => {
  let orderDatabase: PrivatePostgres;
  let userDatabase: PrivatePostgres;
  let user: ServiceProcess;
  let order: ServiceProcess;
  let orders: OrderServiceClient;
  let users: UserServiceClient;
  let userId: string;

  before(async () => {
    [orderDatabase, userDatabase] = await Promise.all([startPrivatePostgres(), startPrivatePostgres()]);
    user = await startServiceProcess(USER_MAIN, { DATABASE_URL: withDatabase(userDatabase.url, 'users'), GRPC_HOST: '127.0.0.1' });
    order = await startServiceProcess(ORDER_MAIN, {
      DATABASE_URL: withDatabase(orderDatabase.url, 'orders'),
      GRPC_HOST: '127.0.0.1',
      USER_SERVICE_ADDR: `127.0.0.1:${user.port}`,
    });
    orders = new OrderServiceClient(`127.0.0.1:${order.port}`, credentials.createInsecure());
    users = new UserServiceClient(`127.0.0.1:${user.port}`, credentials.createInsecure());
    userId = (await unary(users, users.createUser)({ email: 'outage@example.com', displayName: 'Outage' })).id;
  });

  after(async () => {
    orders?.close();
    users?.close();
    await Promise.all([order?.stop(), user?.stop()]);
    orderDatabase?.remove();
    userDatabase?.remove();
  });

  it(`Order survives ${OUTAGES} restarts of its database under CreateOrder load, answers only UNAVAILABLE meanwhile, and its watchers are told`, async () => {
    const outcomes: Outcome[] = [];
    let phase: Outcome['phase'] = 'before';
    let inFlight = 0;
    let sequence = 0;
    const place = () => {
      const placedIn = phase;
      inFlight++;
      unary(orders, orders.createOrder)(
        { userId, currency: 'EUR', requestId: `outage-${sequence++}`, items: [{ sku: 'MUG', quantity: 1, unitPriceCents: 900n }] },
        { deadline: Date.now() + 5000 },
      )
        .then(
          (created) => outcomes.push({ phase: placedIn, code: status.OK, id: created.id }),
          (error: ServiceError) => outcomes.push({ phase: placedIn, code: error.code }),
        )
        .finally(() => inFlight--);
    };
    const count = (wanted: Outcome['phase'], ok?: boolean) =>
      outcomes.filter((outcome) => outcome.phase === wanted && (ok === undefined || (outcome.code === status.OK) === ok)).length;

    /** How many calls had been answered when the database first stopped; later ones may race the stop. */
    let settledBeforeFirstStop: number | undefined;
    const early = watch(orders);
    await headersReceived(early.stream);
    // About 50 calls a second, as in the outage runs that found the defects.
    const load = setInterval(place, 20);
    try {
      await until('orders placed before the outage', () => count('before', true) >= 20);
      const acknowledgedBefore = outcomes.filter((outcome) => outcome.id).map((outcome) => outcome.id!);
      await until('the early watcher saw every order placed so far', () => acknowledgedBefore.every((id) => early.ids.has(id)));

      for (let outage = 1; outage <= OUTAGES; outage++) {
        phase = 'outage';
        const before = count('outage');
        settledBeforeFirstStop ??= outcomes.length;
        orderDatabase.stop();
        await until('order reports NOT_SERVING', async () => (await healthStatus(`127.0.0.1:${order.port}`)) === 'NOT_SERVING');
        await until(`${CALLS_PER_OUTAGE} calls answered during outage ${outage}`, () => count('outage') - before >= CALLS_PER_OUTAGE);
        orderDatabase.start();
        await until('order reports SERVING again', async () => (await healthStatus(`127.0.0.1:${order.port}`)) === 'SERVING');
        phase = 'after';
        const succeeded = count('after', true);
        await until('orders placed after the outage', () => count('after', true) >= succeeded + 20);
        assert.equal(order.child.exitCode, null, `order-service exited during outage ${outage}`);
      }
    } finally {
      clearInterval(load);
    }
    await until('calls in flight answered', () => inFlight === 0);

    assert.equal(order.child.exitCode, null, 'order-service is still running');
    const ending = await Promise.race([early.ended, new Promise<'open'>((resolve) => setImmediate(() => resolve('open')))]);
    assert.ok(
      ending !== 'open' && ending?.code === status.UNAVAILABLE,
      `the watcher opened before the outages must have been ended with UNAVAILABLE, not left open missing events (${ending === 'open' ? 'still open' : ending?.code})`,
    );
    const codesOf = (some: Outcome[]) => [...new Set(some.map((outcome) => status[outcome.code]))].sort();
    const codes = (wanted: Outcome['phase']) => codesOf(outcomes.filter((outcome) => outcome.phase === wanted));
    assert.deepEqual(codesOf(outcomes.slice(0, settledBeforeFirstStop)), ['OK'], 'every call answered before the database first stopped');
    // Calls racing the moment the database stops or returns (placed before it stopped, answered after) may
    // succeed or be UNAVAILABLE; none may be INTERNAL.
    assert.deepEqual(
      codes('before').filter((code) => code !== 'OK' && code !== 'UNAVAILABLE'),
      [],
    );
    assert.deepEqual(
      codes('outage').filter((code) => code !== 'OK'),
      ['UNAVAILABLE'],
    );
    assert.deepEqual(
      codes('after').filter((code) => code !== 'OK' && code !== 'UNAVAILABLE'),
      [],
    );

    // A watcher opened after recovery misses nothing.
    const late = watch(orders);
    await headersReceived(late.stream);
    const placed: string[] = [];
    for (let i = 0; i < 20; i++) {
      placed.push(
        (
          await unary(
            orders,
            orders.createOrder,
          )({ userId, currency: 'EUR', requestId: `after-${i}`, items: [{ sku: 'PEN', quantity: 1, unitPriceCents: 150n }] })
        ).id,
      );
    }
    await until('the late watcher saw all 20 orders', () => placed.every((id) => late.ids.has(id)));
    late.stream.cancel();
  });

  it('Order answers UNAVAILABLE and reports NOT_SERVING while its database accepts connections but never answers, and commits none of those calls', async () => {
    const item = { sku: 'CUP', quantity: 1, unitPriceCents: 400n };
    const placed = (await unary(orders, orders.createOrder)({ userId, currency: 'EUR', requestId: 'frozen-before', items: [item] })).id;
    orderDatabase.freeze();
    try {
      // No deadline: what bounds these calls must be the service, not the caller.
      const calls = Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? unary(orders, orders.createOrder)({ userId, currency: 'EUR', requestId: `frozen-${i}`, items: [item] })
          : unary(orders, orders.getOrder)({ id: placed }),
      );
      // Only on a defect do calls outlast the freeze; the cap keeps that failure from hanging the test.
      const cap = new Promise<'pending'>((resolve) => setTimeout(resolve, FROZEN_CAP_MS, 'pending').unref());
      const outcomes = await Promise.all(
        calls.map((call) =>
          Promise.race([
            call.then(
              () => status.OK,
              (error: ServiceError) => error.code,
            ),
            cap,
          ]),
        ),
      );
      assert.deepEqual(
        [...new Set(outcomes.map((outcome) => (outcome === 'pending' ? `still pending after ${FROZEN_CAP_MS} ms` : status[outcome])))],
        ['UNAVAILABLE'],
        'every call placed while the database was frozen',
      );
      await until(
        'order reports NOT_SERVING while its database is frozen',
        async () => (await healthStatus(`127.0.0.1:${order.port}`)) === 'NOT_SERVING',
      );
    } finally {
      orderDatabase.thaw();
    }
    await until('order reports SERVING again', async () => (await healthStatus(`127.0.0.1:${order.port}`)) === 'SERVING');
    // The server goes on with what it had been sent when it froze: none of it may have committed an order whose call failed.
    for (let i = 0; i < 20; i += 2) {
      const replay = await unary(
        orders,
        orders.createOrder,
      )({ userId, currency: 'EUR', requestId: `frozen-${i}`, items: [{ ...item, quantity: 2 }] }).catch((error: ServiceError) =>
        assert.fail(`frozen-${i} had been created while its call failed (${status[error.code]}: ${error.details})`),
      );
      assert.equal(replay.items[0]?.quantity, 2);
    }
    assert.equal(order.child.exitCode, null);
  });

  it('User answers UNAVAILABLE while its database is down, reports NOT_SERVING, and recovers', async () => {
    userDatabase.stop();
    try {
      await until('user reports NOT_SERVING', async () => (await healthStatus(`127.0.0.1:${user.port}`)) === 'NOT_SERVING');
      const error = await unary(
        users,
        users.getUser,
      )({ id: userId }).then(
        () => assert.fail('GetUser succeeded with the database down'),
        (failure: ServiceError) => failure,
      );
      assert.equal(error.code, status.UNAVAILABLE, `${status[error.code]}: ${error.details}`);
    } finally {
      userDatabase.start();
    }
    await until('user reports SERVING again', async () => (await healthStatus(`127.0.0.1:${user.port}`)) === 'SERVING');
    assert.equal((await unary(users, users.getUser)({ id: userId })).id, userId);
    assert.equal(user.child.exitCode, null);
  });
});
