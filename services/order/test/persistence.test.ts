import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { dropDatabase } from '@platform/service-kit';
import {
  freshDatabaseUrl,
  startInProcess,
  startServiceProcess,
  testConfig,
  unary,
  writeRestartRead,
  type InProcessService,
} from '@platform/testing';
import { SERVICE_NAME as USER_SERVICE_NAME, startUserService } from '@platform/user-service';
import { OrderServiceClient, type Order } from '@platform/contracts/order/v1/order';
import { UserServiceClient } from '@platform/contracts/user/v1/user';

const MAIN = path.resolve(__dirname, '../src/main.js');

function withClient<T>(port: number, use: (client: OrderServiceClient) => Promise<T>): Promise<T> {
  const client = new OrderServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  return use(client).finally(() => client.close());
}

describe('order-service process', () => {
  let userService: InProcessService;
  let userId: string;
  let databaseUrl: string | undefined;

  before(async () => {
    userService = await startInProcess(USER_SERVICE_NAME, startUserService, testConfig());
    const users = new UserServiceClient(`127.0.0.1:${userService.port}`, credentials.createInsecure());
    userId = (await unary(users, users.createUser)({ email: 'keeps@example.com', displayName: 'Keeps' })).id;
    users.close();
  });
  after(async () => {
    await userService.stop();
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  it('keeps orders across a SIGTERM and restart', async () => {
    databaseUrl = await freshDatabaseUrl('orders');
    const { written, read } = await writeRestartRead<Order>({
      main: MAIN,
      env: { DATABASE_URL: databaseUrl, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', USER_SERVICE_ADDR: `127.0.0.1:${userService.port}` },
      write: (port) =>
        withClient(port, (client) =>
          unary(
            client,
            client.createOrder,
          )({ userId, currency: 'EUR', requestId: 'restart-1', items: [{ sku: 'MUG', quantity: 2, unitPriceCents: 1200n }] }),
        ),
      readBack: (port, order) => withClient(port, (client) => unary(client, client.getOrder)({ id: order.id })),
    });
    assert.deepEqual(read, written);
  });

  it('refuses to start on invalid configuration, naming the variable', async () => {
    await assert.rejects(startServiceProcess(MAIN, { USER_SERVICE_TIMEOUT_MS: '-5', DATABASE_URL: '' }), /USER_SERVICE_TIMEOUT_MS/);
  });
});
