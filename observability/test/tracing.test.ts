// First: tracing must patch grpc-js and pg before anything loads them.
import { exportedSpans, waitForSpans } from '@platform/testing/memory-tracing';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OrderServiceClient, type Order } from '@platform/contracts/order/v1/order';
import { SERVICE_NAME as ORDER, startOrderService } from '@platform/order-service';
import {
  freePort,
  startUserAndOrder,
  type UserAndOrder,
  scrapeMetrics,
  startInProcess,
  testConfig,
  unary,
  type InProcessService,
} from '@platform/testing';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { SERVICE_NAME as USER, startUserService } from '@platform/user-service';

const items = [{ sku: 'LAMP', quantity: 2, unitPriceCents: 3150n }];

/** Calls and returns the response with the trace id the server put in x-trace-id. */
function callWithTraceId<Request, Response>(
  client: { [key: string]: unknown },
  method: string,
  request: Request,
): Promise<{ response?: Response; error?: ServiceError; traceId: string | undefined }> {
  return new Promise((resolve) => {
    let headers: Metadata | undefined;
    const fn = client[method] as (
      request: Request,
      metadata: Metadata,
      callback: (error: ServiceError | null, response: Response) => void,
    ) => { on(event: 'metadata', listener: (m: Metadata) => void): void };
    const call = fn.call(client, request, new Metadata(), (error, response) => {
      const source = error ? error.metadata : headers;
      const traceId = source?.get('x-trace-id')[0]?.toString();
      resolve(error ? { error, traceId } : { response, traceId });
    });
    call.on('metadata', (metadata) => (headers = metadata));
  });
}

/** The spans of one trace as an indented tree: what Jaeger would draw. */
function spanTree(spans: ReadableSpan[]): string {
  const children = new Map<string | undefined, ReadableSpan[]>();
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const lines: string[] = [];
  const draw = (span: ReadableSpan, depth: number) => {
    const ms = (span.duration[0] * 1e3 + span.duration[1] / 1e6).toFixed(2);
    const detail = span.attributes['db.query.text']
      ? ` "${String(span.attributes['db.query.text']).replace(/\s+/g, ' ').slice(0, 60)}…"`
      : '';
    lines.push(`${'  '.repeat(depth)}${SpanKind[span.kind]} ${span.name} ${ms} ms status=${SpanStatusCode[span.status.code]}${detail}`);
    for (const child of (children.get(span.spanContext().spanId) ?? []).sort(
      (a, b) => a.startTime[1] - b.startTime[1] + (a.startTime[0] - b.startTime[0]) * 1e9,
    ))
      draw(child, depth + 1);
  };
  for (const root of children.get(undefined) ?? []) draw(root, 0);
  return lines.join('\n');
}

describe('one trace from the caller through Order, User and PostgreSQL', () => {
  let platform: UserAndOrder;
  let user: InProcessService;
  let order: InProcessService;
  let orders: OrderServiceClient;
  let userId: string;

  before(async () => {
    platform = await startUserAndOrder({ user: { name: USER, start: startUserService }, order: { name: ORDER, start: startOrderService } });
    ({ user, order } = platform);
    const users = new UserServiceClient(user.address, credentials.createInsecure());
    userId = (await unary(users, users.createUser)({ email: 'traced@example.com', displayName: 'Traced' })).id;
    users.close();
    orders = new OrderServiceClient(order.address, credentials.createInsecure());
  });

  after(async () => {
    orders?.close();
    await platform?.stop();
  });

  it('links caller -> Order -> User -> PostgreSQL in one trace, with semantic-convention attributes', async (t) => {
    const { response, traceId } = await callWithTraceId<unknown, Order>(orders as unknown as Record<string, unknown>, 'createOrder', {
      userId,
      items,
      currency: 'EUR',
      requestId: '',
    });
    assert.ok(response && traceId, 'the response carries x-trace-id');

    const chain = await waitForSpans((spans) => {
      const inTrace = spans.filter((span) => span.spanContext().traceId === traceId);
      const find = (predicate: (span: ReadableSpan) => boolean) => inTrace.find(predicate);
      const caller = find((s) => s.kind === SpanKind.CLIENT && s.name === 'order.v1.OrderService/CreateOrder');
      const orderServer = find((s) => s.kind === SpanKind.SERVER && s.name === 'order.v1.OrderService/CreateOrder');
      const userCall = find((s) => s.kind === SpanKind.CLIENT && s.name === 'user.v1.UserService/GetUser');
      const userServer = find((s) => s.kind === SpanKind.SERVER && s.name === 'user.v1.UserService/GetUser');
      const userQuery = find(
        (s) => s.attributes['db.system.name'] === 'postgresql' && String(s.attributes['db.query.text']).includes('FROM users'),
      );
      const orderInsert = find(
        (s) => s.attributes['db.system.name'] === 'postgresql' && String(s.attributes['db.query.text']).includes('INSERT INTO orders'),
      );
      return caller && orderServer && userCall && userServer && userQuery && orderInsert
        ? { caller, orderServer, userCall, userServer, userQuery, orderInsert }
        : undefined;
    });

    const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
    assert.equal(parentOf(chain.caller), undefined, 'the caller starts the trace');
    assert.equal(parentOf(chain.orderServer), chain.caller.spanContext().spanId);
    assert.equal(parentOf(chain.userCall), chain.orderServer.spanContext().spanId);
    assert.equal(parentOf(chain.userServer), chain.userCall.spanContext().spanId);
    assert.equal(parentOf(chain.userQuery), chain.userServer.spanContext().spanId);
    assert.equal(parentOf(chain.orderInsert), chain.orderServer.spanContext().spanId);

    assert.equal(chain.orderServer.attributes['rpc.system'], 'grpc');
    assert.equal(chain.orderServer.attributes['rpc.service'], 'order.v1.OrderService');
    assert.equal(chain.orderServer.attributes['rpc.method'], 'CreateOrder');
    assert.equal(chain.orderServer.attributes['rpc.grpc.status_code'], 0);
    assert.equal(chain.orderServer.attributes['app.order.id'], response.id);
    assert.equal(chain.orderServer.attributes['app.order.item_count'], 1);
    assert.equal(chain.orderServer.attributes['app.order.total_cents'], 6300);
    assert.equal(chain.userServer.attributes['app.user.id'], userId);
    assert.equal(chain.userQuery.attributes['db.namespace'], new URL(platform.databases.users).pathname.slice(1));
    assert.equal(chain.orderServer.status.code, SpanStatusCode.UNSET);
    t.diagnostic(
      `trace ${traceId}\n${spanTree(exportedSpans.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId))}`,
    );
  });

  it("leaves the caller's mistakes UNSET and marks server faults ERROR", async () => {
    const invalid = await callWithTraceId(orders as unknown as Record<string, unknown>, 'getOrder', { id: 'not-a-uuid' });
    const notFound = await callWithTraceId(orders as unknown as Record<string, unknown>, 'getOrder', {
      id: '0b1d0c3e-2f4a-4b5c-8d6e-7f8091a2b3c4',
    });
    const stranded = await startInProcess(ORDER, startOrderService, {
      ...testConfig(),
      userServiceAddr: `127.0.0.1:${await freePort()}`,
      userServiceTimeoutMs: 5000,
    });
    const strandedClient = new OrderServiceClient(stranded.address, credentials.createInsecure());
    const unavailable = await callWithTraceId(strandedClient as unknown as Record<string, unknown>, 'createOrder', {
      userId,
      items,
      currency: 'EUR',
      requestId: '',
    });
    strandedClient.close();
    await stranded.stop();

    assert.equal(invalid.error?.code, 3);
    assert.equal(notFound.error?.code, 5);
    assert.equal(unavailable.error?.code, 14);
    const serverSpan = (traceId: string | undefined) =>
      waitForSpans((spans) => spans.find((span) => span.kind === SpanKind.SERVER && span.spanContext().traceId === traceId));
    assert.ok(invalid.traceId && notFound.traceId && unavailable.traceId, 'failed calls carry x-trace-id in their trailers');
    assert.equal((await serverSpan(invalid.traceId)).status.code, SpanStatusCode.UNSET);
    assert.equal((await serverSpan(notFound.traceId)).status.code, SpanStatusCode.UNSET);
    const faulty = await serverSpan(unavailable.traceId);
    assert.equal(faulty.status.code, SpanStatusCode.ERROR);
    assert.equal(faulty.attributes['rpc.grpc.status_code'], 14);
  });

  it('links latency to traces with exemplars whose trace ids were recorded', async () => {
    const { traceId } = await callWithTraceId(orders as unknown as Record<string, unknown>, 'createOrder', {
      userId,
      items,
      currency: 'EUR',
      requestId: '',
    });
    assert.ok(traceId);
    const recorded = new Set(exportedSpans.getFinishedSpans().map((span) => span.spanContext().traceId));
    const { samples } = await scrapeMetrics(order.telemetry.metricsPort);
    const exemplars = samples.filter((sample) => sample.name === 'grpc_server_handling_seconds_bucket' && sample.exemplar?.trace_id);
    assert.ok(exemplars.length > 0, 'the latency histogram carries exemplars');
    for (const sample of exemplars)
      assert.ok(recorded.has(sample.exemplar!.trace_id!), `exemplar ${sample.exemplar!.trace_id} belongs to a recorded trace`);
    assert.ok(exemplars.some((sample) => sample.exemplar!.trace_id === traceId && sample.labels.grpc_method === 'CreateOrder'));
    const clientExemplars = samples.filter((sample) => sample.name === 'grpc_client_handling_seconds_bucket' && sample.exemplar?.trace_id);
    assert.ok(
      clientExemplars.some((sample) => sample.exemplar!.trace_id === traceId),
      'the call to User is linked to the trace of the order that made it',
    );
  });

  it("ends the server span of a stream the caller cancels, as a caller's decision (UNSET, code CANCELLED)", async () => {
    const watch = orders.watchOrders({ userId });
    watch.on('error', () => undefined);
    await new Promise<void>((resolve) => watch.on('metadata', () => resolve()));
    watch.cancel();
    const caller = await waitForSpans((spans) =>
      spans.find((span) => span.kind === SpanKind.CLIENT && span.name === 'order.v1.OrderService/WatchOrders'),
    );
    const server = await waitForSpans((spans) =>
      spans.find(
        (span) =>
          span.kind === SpanKind.SERVER &&
          span.name === 'order.v1.OrderService/WatchOrders' &&
          span.spanContext().traceId === caller.spanContext().traceId,
      ),
    );
    assert.equal(server.status.code, SpanStatusCode.UNSET);
    assert.equal(server.attributes['rpc.grpc.status_code'], 1);
  });

  it("keeps the order change feed's own queries out of the trace of the watch that opened it", async () => {
    // The first WatchOrders of the process opens the LISTEN connection; every notice is then read back on it.
    const watch = orders.watchOrders({ userId });
    const events: unknown[] = [];
    const opened = new Promise<void>((resolve) => watch.on('metadata', () => resolve()));
    watch.on('data', (event) => events.push(event));
    watch.on('error', () => undefined);
    await opened;
    for (let order = 0; order < 3; order++) await unary(orders, orders.createOrder)({ userId, items, currency: 'EUR', requestId: '' });
    await waitForSpans(() => (events.length >= 3 ? true : undefined));
    watch.cancel();
    // The caller's span: it ends when the watch is cancelled.
    const watchSpan = await waitForSpans((spans) =>
      spans.find((span) => span.kind === SpanKind.CLIENT && span.name === 'order.v1.OrderService/WatchOrders'),
    );
    const inWatchTrace = exportedSpans.getFinishedSpans().filter((span) => span.spanContext().traceId === watchSpan.spanContext().traceId);
    assert.deepEqual(
      inWatchTrace.filter((span) => span.name !== 'order.v1.OrderService/WatchOrders').map((span) => span.name),
      [],
      'the feed serves every watcher: its LISTEN and read-backs are not the work of the first one',
    );
  });

  it('leaves no exemplar for a call whose trace is not sampled, so none leads to a trace Jaeger never got', async () => {
    const users = new UserServiceClient(user.address, credentials.createInsecure());
    const unsampled = randomBytes(16).toString('hex');
    try {
      for (let call = 0; call < 5; call++) {
        const metadata = new Metadata();
        // Sampled flag 00: the caller decided against recording this trace, and the parent-based sampler follows it.
        metadata.set('traceparent', `00-${unsampled}-${randomBytes(8).toString('hex')}-00`);
        await new Promise<void>((resolve, reject) =>
          users.getUser({ id: userId }, metadata, (error) => (error ? reject(error) : resolve())),
        );
      }
    } finally {
      users.close();
    }
    const recorded = new Set(exportedSpans.getFinishedSpans().map((span) => span.spanContext().traceId));
    assert.ok(!recorded.has(unsampled), 'the unsampled trace was not exported');
    const { samples } = await scrapeMetrics(user.telemetry.metricsPort);
    const getUser = samples.filter(
      (sample) => sample.name === 'grpc_server_handling_seconds_count' && sample.labels.grpc_method === 'GetUser',
    );
    assert.ok(getUser.length > 0 && getUser[0]!.value >= 5, 'the calls were counted');
    const exemplarTraces = samples.flatMap((sample) => (sample.exemplar?.trace_id ? [sample.exemplar.trace_id] : []));
    assert.ok(!exemplarTraces.includes(unsampled), 'no exemplar names the unsampled trace');
    for (const traceId of exemplarTraces) assert.ok(recorded.has(traceId), `exemplar ${traceId} belongs to a recorded trace`);
  });
});
