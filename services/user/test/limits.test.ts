/**
 * The user service's own limits: the receive limit its largest valid request
 * fits (the kit's server limits are tested in the kit), and listings cut to
 * the send limit rather than failed.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { Code } from '@platform/service-kit';
import {
  expectStatus,
  startInProcess,
  startServiceProcess,
  testConfig,
  unary,
  type InProcessService,
  type ServiceProcess,
} from '@platform/testing';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { SERVICE_NAME, startUserService } from '../src/internal/server';

describe('the default receive limit, through a user-service process', () => {
  let service: ServiceProcess;
  before(async () => {
    service = await startServiceProcess(path.resolve(__dirname, '../src/main.js'), { GRPC_HOST: '127.0.0.1' });
  });
  after(() => service?.stop());

  it('refuses an oversized request as RESOURCE_EXHAUSTED before it is decoded, and lets a valid request of the largest size pass', async () => {
    const client = new UserServiceClient(`127.0.0.1:${service.port}`, credentials.createInsecure(), {
      'grpc.max_send_message_length': 8 * 1024 * 1024,
    });
    try {
      const createUser = unary(client, client.createUser);
      const error = await expectStatus(
        createUser({ email: 'huge@example.com', displayName: 'x'.repeat(4 * 1024 * 1024 - 1024) }),
        Code.RESOURCE_EXHAUSTED,
      );
      assert.match(error.details, /larger than max/);
      // The largest request validation accepts: 100 four-byte characters of display name.
      const largest = await createUser({ email: `${'a'.repeat(64)}@${'b'.repeat(180)}.example`, displayName: '😀'.repeat(100) });
      assert.equal(largest.displayName, '😀'.repeat(100));
    } finally {
      client.close();
    }
  });
});

describe('a listing larger than the send limit (GRPC_MAX_MESSAGE_BYTES)', () => {
  let service: InProcessService;
  let client: UserServiceClient;

  before(async () => {
    service = await startInProcess(
      SERVICE_NAME,
      startUserService,
      testConfig({ grpcMaxMessageBytes: 1024, grpcMaxReceiveMessageBytes: 1024 }),
    );
    client = new UserServiceClient(service.address, credentials.createInsecure());
  });

  after(async () => {
    client.close();
    await service.stop();
  });

  it('cuts a page that would exceed the limit short, with a token for the rest, instead of failing the listing', async () => {
    const createUser = unary(client, client.createUser);
    const listUsers = unary(client, client.listUsers);
    const created: string[] = [];
    for (let index = 0; index < 12; index += 1)
      created.push((await createUser({ email: `user${index}@example.com`, displayName: 'y'.repeat(100) })).id);
    // Twelve users of some 150 bytes each: about 1.8 KiB, beyond the 1 KiB limit in one page.
    const first = await listUsers({ pageSize: 12, pageToken: '' });
    assert.ok(first.users.length > 0 && first.users.length < 12, `${first.users.length} users in the first page`);
    assert.notEqual(first.nextPageToken, '');
    const seen = first.users.map((user) => user.id);
    for (let token = first.nextPageToken; token !== '';) {
      const page = await listUsers({ pageSize: 12, pageToken: token });
      seen.push(...page.users.map((user) => user.id));
      token = page.nextPageToken;
    }
    assert.deepEqual(seen, created, 'every user once, in order');
  });
});
