import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { Code as ConnectCode, ConnectError, type Client } from '@connectrpc/connect';
import { OrderEventType, OrderServiceClient } from '@platform/contracts/order/v1/order';
import { OrderService, OrderEventType as WebOrderEventType } from '@platform/contracts/order/v1/order_pb';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import {
  expectViolations,
  eventually,
  sampleValue,
  scrapeMetrics,
  startInProcess,
  testConfig,
  testWebEndpoint,
  unary,
  expectWebFailure,
  WEB_PROTOCOLS,
  webClient,
  type InProcessService,
} from '@platform/testing';
import { SERVICE_NAME as USER_SERVICE_NAME, startUserService } from '@platform/user-service';
import type { OrderServiceConfig } from '../src/config';
import { SERVICE_NAME, startOrderService } from '../src/internal/server';

const UNKNOWN_ORDER = '5c0a6f3e-1b2d-4c5e-9f8a-7b6c5d4e3f2a';
const ITEMS = [{ sku: 'BOOK-42', quantity: 2, unitPriceCents: 1999n }];

describe('order.v1.OrderService over gRPC-Web and Connect (the web endpoint)', () => {
  let user: InProcessService;
  let order: InProcessService;
  let grpc: OrderServiceClient;
  let userId: string;

  before(async () => {
    user = await startInProcess(USER_SERVICE_NAME, startUserService, { ...testConfig(), userServiceAddr: '' } as never);
    const users = new UserServiceClient(user.address, credentials.createInsecure());
    userId = (await unary(users, users.createUser)({ email: 'web@example.com', displayName: 'Web' })).id;
    users.close();
    const config: OrderServiceConfig = {
      ...testConfig({ web: testWebEndpoint() }),
      userServiceAddr: user.address,
      userServiceTimeoutMs: 5000,
    };
    order = await startInProcess(SERVICE_NAME, startOrderService, config);
    grpc = new OrderServiceClient(order.address, credentials.createInsecure());
  });

  after(async () => {
    grpc?.close();
    await order?.stop();
    await user?.stop();
  });

  for (const protocol of WEB_PROTOCOLS) {
    describe(protocol, () => {
      let web: Client<typeof OrderService>;
      before(() => {
        web = webClient(OrderService, order.webUrl!, protocol);
      });

      it('creates, gets, lists and cancels an order, as the gRPC port does', async () => {
        const created = await web.createOrder({ userId, items: ITEMS, currency: 'EUR' });
        assert.equal(created.totalCents, 3998n);
        assert.equal(created.userId, userId);
        const fromGrpc = await unary(grpc, grpc.getOrder)({ id: created.id });
        assert.equal(fromGrpc.totalCents, created.totalCents);
        assert.deepEqual((await web.getOrder({ id: created.id })).items, created.items);
        const listed = await web.listOrders({ userId, pageSize: 100 });
        assert.ok(listed.orders.some((listedOrder) => listedOrder.id === created.id));
        const cancelled = await web.cancelOrder({ id: created.id });
        assert.equal(cancelled.id, created.id);
        assert.equal((await unary(grpc, grpc.getOrder)({ id: created.id })).status, fromGrpc.status + 1);
      });

      it('answers with the status codes and BadRequest field paths of the gRPC port', async () => {
        const invalid = { userId: 'not-a-uuid', items: [{ sku: '', quantity: 0, unitPriceCents: -1n }], currency: 'euros' };
        const webInvalid = await expectWebFailure(web.createOrder(invalid));
        assert.equal(webInvalid.code, ConnectCode.InvalidArgument);
        assert.deepEqual(webInvalid.fields, await expectViolations(unary(grpc, grpc.createOrder)({ ...invalid, requestId: '' })));
        assert.ok(webInvalid.fields.length >= 4, `fields: ${webInvalid.fields.join(', ')}`);
        assert.equal((await expectWebFailure(web.getOrder({ id: UNKNOWN_ORDER }))).code, ConnectCode.NotFound);
        assert.equal(
          (await expectWebFailure(web.createOrder({ userId: UNKNOWN_ORDER, items: ITEMS, currency: 'EUR' }))).code,
          ConnectCode.FailedPrecondition,
        );
        const { code, fields } = await expectWebFailure(web.listOrders({ pageSize: -1 }));
        assert.deepEqual({ code, fields }, { code: ConnectCode.InvalidArgument, fields: ['page_size'] });
      });

      it('streams WatchOrders, and the server ends the call when the caller aborts', async () => {
        const metric = { name: 'grpc_server_handled_total', labels: { grpc_method: 'WatchOrders', grpc_code: 'Canceled', protocol } };
        const cancelledBefore = sampleValue((await scrapeMetrics(order.telemetry.metricsPort)).samples, metric.name, metric.labels);
        const abort = new AbortController();
        const events = web.watchOrders({ userId }, { signal: abort.signal })[Symbol.asyncIterator]();
        const first = events.next();
        // The stream is live once the server has it; then an order made over gRPC arrives on it.
        await eventually(
          async () => {
            await unary(grpc, grpc.createOrder)({ userId, items: ITEMS, currency: 'EUR', requestId: '' });
            return Promise.race([first, new Promise((resolve) => setTimeout(resolve, 200, undefined))]);
          },
          { timeoutMs: 20_000, intervalMs: 0, failure: () => 'no order event arrived on the stream' },
        );
        const { value } = await first;
        assert.equal(value?.type, WebOrderEventType.CREATED);
        assert.equal(OrderEventType.ORDER_EVENT_TYPE_CREATED as number, WebOrderEventType.CREATED as number);
        abort.abort();
        await assert.rejects(events.next(), (error: unknown) => ConnectError.from(error).code === ConnectCode.Canceled);
        let cancelled = cancelledBefore;
        await eventually(
          async () => {
            cancelled = sampleValue((await scrapeMetrics(order.telemetry.metricsPort)).samples, metric.name, metric.labels);
            return cancelled > cancelledBefore ? cancelled : undefined;
          },
          { timeoutMs: 20_000, intervalMs: 50, failure: () => `WatchOrders over ${protocol} not ended as Canceled on the server` },
        );
        assert.equal(cancelled, cancelledBefore + 1);
      });
    });
  }

  it('refuses BulkCreateOrders, a bidirectional stream HTTP/1.1 cannot carry, before any order is made', async () => {
    const before = (await unary(grpc, grpc.listOrders)({ userId, pageSize: 100, pageToken: '' })).orders.length;
    for (const protocol of WEB_PROTOCOLS) {
      const web = webClient(OrderService, order.webUrl!, protocol);
      async function* one() {
        yield { userId, items: ITEMS, currency: 'EUR', requestId: `bulk-${protocol}` };
      }
      const responses = web.bulkCreateOrders(one())[Symbol.asyncIterator]();
      // connect-node answers HTTP 505 (HTTP Version Not Supported), which clients read as UNKNOWN.
      await assert.rejects(responses.next(), (error: unknown) => /HTTP 505/.test(ConnectError.from(error).message));
    }
    assert.equal((await unary(grpc, grpc.listOrders)({ userId, pageSize: 100, pageToken: '' })).orders.length, before);
  });

  it('counts web calls in the same grpc_server_* series, labelled with their protocol', async () => {
    await unary(grpc, grpc.getOrder)({ id: UNKNOWN_ORDER }).catch(() => undefined);
    const { samples } = await scrapeMetrics(order.telemetry.metricsPort);
    for (const protocol of ['grpc', ...WEB_PROTOCOLS]) {
      const handled = sampleValue(samples, 'grpc_server_handled_total', { grpc_method: 'GetOrder', grpc_code: 'NotFound', protocol });
      assert.ok(handled >= 1, `no NotFound GetOrder over ${protocol}`);
    }
  });
});
