/**
 * The grpc-timeout request header, sent as a raw HTTP/2 client can: a
 * malformed one is the caller's mistake (INVALID_ARGUMENT), and a deadline
 * too far away for a timer means no practical deadline, not an instant one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { Code } from '@platform/service-kit';
import { grpcFrame, http2GrpcCall, startInProcess, testConfig, unary, type InProcessService } from '@platform/testing';
import { OrderEvent, OrderServiceClient } from '@platform/contracts/order/v1/order';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { SERVICE_NAME as USER_SERVICE_NAME, startUserService } from '@platform/user-service';
import { SERVICE_NAME, startOrderService } from '../src/internal/server';

describe('the grpc-timeout header', () => {
  let user: InProcessService;
  let order: InProcessService;
  let userId: string;

  before(async () => {
    user = await startInProcess(USER_SERVICE_NAME, startUserService, testConfig());
    order = await startInProcess(SERVICE_NAME, startOrderService, {
      ...testConfig(),
      userServiceAddr: user.address,
      userServiceTimeoutMs: 5000,
    });
    const users = new UserServiceClient(user.address, credentials.createInsecure());
    userId = (await unary(users, users.createUser)({ email: 'deadline@example.com', displayName: 'Deadline' })).id;
    users.close();
  });
  after(async () => {
    await order?.stop();
    await user?.stop();
  });

  for (const value of ['abc', '1', '1X', '', '123456789S', '5S junk']) {
    it(`"${value}" is INVALID_ARGUMENT`, async () => {
      const call = http2GrpcCall(order.address, '/order.v1.OrderService/GetOrder', { 'grpc-timeout': value }, grpcFrame(Buffer.alloc(0)));
      try {
        const { status, message } = await call.ended;
        assert.equal(status, Code.INVALID_ARGUMENT, `${status}: ${message}`);
        assert.match(message, /grpc-timeout/);
      } finally {
        call.close();
      }
    });
  }

  it('a 30-day deadline on WatchOrders leaves the stream open and delivering', async () => {
    const call = http2GrpcCall(order.address, '/order.v1.OrderService/WatchOrders', { 'grpc-timeout': '720H' }, grpcFrame(Buffer.alloc(0)));
    const orders = new OrderServiceClient(order.address, credentials.createInsecure());
    try {
      const early = await Promise.race([
        call.headers.then(() => 'live' as const),
        call.ended.then(({ status, message }) => `ended ${status}: ${message}`),
      ]);
      assert.equal(early, 'live');
      const created = await unary(
        orders,
        orders.createOrder,
      )({ userId, currency: 'EUR', requestId: 'long-deadline', items: [{ sku: 'MUG', quantity: 1, unitPriceCents: 900n }] });
      const delivered = await Promise.race([
        new Promise<string>((resolve) => {
          const poll = setInterval(() => {
            if (call.messages.length === 0) return;
            clearInterval(poll);
            resolve(OrderEvent.decode(call.messages[0]!).order!.id);
          }, 10);
          void call.ended.then(() => clearInterval(poll));
        }),
        call.ended.then(({ status, message }) => `ended ${status}: ${message}`),
      ]);
      assert.equal(delivered, created.id);
    } finally {
      orders.close();
      call.close();
    }
  });

  it('a deadline in range still ends the call when it passes', async () => {
    const call = http2GrpcCall(order.address, '/order.v1.OrderService/WatchOrders', { 'grpc-timeout': '50m' }, grpcFrame(Buffer.alloc(0)));
    try {
      assert.equal((await call.ended).status, Code.DEADLINE_EXCEEDED);
    } finally {
      call.close();
    }
  });
});
