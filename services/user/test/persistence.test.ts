import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { dropDatabase } from '@platform/service-kit';
import { freshDatabaseUrl, startServiceProcess, unary, writeRestartRead } from '@platform/testing';
import { UserServiceClient, type User } from '@platform/contracts/user/v1/user';

const MAIN = path.resolve(__dirname, '../src/main.js');

function withClient<T>(port: number, use: (client: UserServiceClient) => Promise<T>): Promise<T> {
  const client = new UserServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  return use(client).finally(() => client.close());
}

describe('user-service process', () => {
  let databaseUrl: string | undefined;
  after(async () => {
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  it('keeps users across a SIGTERM and restart', async () => {
    databaseUrl = await freshDatabaseUrl('users');
    const { written, read } = await writeRestartRead<User>({
      main: MAIN,
      env: { DATABASE_URL: databaseUrl, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0' },
      write: (port) =>
        withClient(port, (client) => unary(client, client.createUser)({ email: 'restart@example.com', displayName: 'Restart' })),
      readBack: (port, user) => withClient(port, (client) => unary(client, client.getUser)({ id: user.id })),
    });
    assert.deepEqual(read, written);
  });

  it('refuses to start on invalid configuration, naming the variable', async () => {
    await assert.rejects(startServiceProcess(MAIN, { GRPC_PORT: 'abc', DATABASE_URL: '' }), /GRPC_PORT: must be a port number/);
  });
});
