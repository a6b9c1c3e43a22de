import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { dropDatabase } from '@platform/service-kit';
import { freshDatabaseUrl, startInProcess, testConfig, unary, type InProcessService } from '@platform/testing';
import { SERVICE_NAME as USER_SERVICE_NAME, startUserService } from '@platform/user-service';
import { OrderServiceClient } from '@platform/contracts/order/v1/order';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { SERVICE_NAME, startOrderService } from '../src/internal/server';

describe('CreateOrder retried and duplicated, over two replicas sharing one database', () => {
  let databaseUrl: string;
  let userService: InProcessService;
  let replicas: InProcessService[];
  let clients: OrderServiceClient[];
  let userId: string;

  before(async () => {
    userService = await startInProcess(USER_SERVICE_NAME, startUserService, testConfig());
    const users = new UserServiceClient(userService.address, credentials.createInsecure());
    userId = (await unary(users, users.createUser)({ email: 'twice@example.com', displayName: 'Twice' })).id;
    users.close();
    databaseUrl = await freshDatabaseUrl('orders');
    const config = { ...testConfig({ databaseUrl }), userServiceAddr: userService.address, userServiceTimeoutMs: 5000 };
    // One after the other: the first creates and migrates the database.
    replicas = [await startInProcess(SERVICE_NAME, startOrderService, config)];
    replicas.push(await startInProcess(SERVICE_NAME, startOrderService, config));
    clients = replicas.map((replica) => new OrderServiceClient(replica.address, credentials.createInsecure()));
  });

  after(async () => {
    clients.forEach((client) => client.close());
    for (const replica of replicas) await replica.stop();
    await userService.stop();
    await dropDatabase(databaseUrl);
  });

  it('creates exactly one order for 20 concurrent calls with one request_id, and answers all of them with it', async () => {
    const request = {
      userId,
      currency: 'EUR',
      requestId: 'retried-checkout-1',
      items: [{ sku: 'LAMP', quantity: 1, unitPriceCents: 4500n }],
    };
    // What a client retrying on UNAVAILABLE, or a user double-clicking, sends: the same request, at once, to any replica.
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => unary(clients[i % 2]!, clients[i % 2]!.createOrder)(request)));
    for (const response of responses) assert.deepEqual(response, responses[0]);
    const listed = await unary(clients[0]!, clients[0]!.listOrders)({ userId, pageSize: 100, pageToken: '' });
    assert.deepEqual(
      listed.orders.map((order) => order.id),
      [responses[0]!.id],
      'one order in the database',
    );
  });
});
