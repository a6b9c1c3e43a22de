/**
 * Framing mistakes a client makes on the wire, through a real service
 * process: they are the caller's (INVALID_ARGUMENT), never UNIMPLEMENTED, a
 * server-fault code that would let any client spend the availability budget;
 * and calls to methods the server does not have stay out of its metrics.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Code } from '@platform/service-kit';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { credentials } from '@grpc/grpc-js';
import {
  expectStatus,
  grpcFrame,
  http2GrpcCall,
  sampleValue,
  scrapeMetrics,
  startServiceProcess,
  unary,
  type ServiceProcess,
} from '@platform/testing';
import { UserServiceClient } from '@platform/contracts/user/v1/user';

const MAIN = path.resolve(__dirname, '../src/main.js');
const GET_USER = '/user.v1.UserService/GetUser';

const MISTAKES: Record<string, Buffer> = {
  'no message at all': Buffer.alloc(0),
  'a 3-byte body': Buffer.from([0, 0, 0]),
  'a length prefix larger than the body': Buffer.concat([Buffer.from([0, 0, 0, 0, 10]), Buffer.from('abc')]),
  'two messages on a unary call': Buffer.concat([grpcFrame(Buffer.alloc(0)), grpcFrame(Buffer.alloc(0))]),
};

async function call(service: ServiceProcess, method: string, body: Buffer): Promise<{ status: number | undefined; message: string }> {
  const request = http2GrpcCall(`127.0.0.1:${service.port}`, method, {}, body);
  try {
    return await request.ended;
  } finally {
    request.close();
  }
}

describe('framing mistakes, unknown methods and oversized requests, through a user-service process with its default limits', () => {
  let service: ServiceProcess;
  before(async () => {
    service = await startServiceProcess(MAIN, { GRPC_HOST: '127.0.0.1', METRICS_HOST: '127.0.0.1' });
  });
  after(() => service?.stop());

  for (const [mistake, body] of Object.entries(MISTAKES)) {
    it(`${mistake} is INVALID_ARGUMENT`, async () => {
      const { status, message } = await call(service, GET_USER, body);
      assert.equal(status, Code.INVALID_ARGUMENT, `${status}: ${message}`);
      assert.match(message, /^malformed request for \/user\.v1\.UserService\/GetUser: /);
    });
  }

  it('counts them as InvalidArgument, and calls to unknown methods not at all', async () => {
    for (let i = 0; i < 5; i++)
      assert.equal((await call(service, `/evil.v1.Probe/Method${i}`, grpcFrame(Buffer.alloc(0)))).status, Code.UNIMPLEMENTED);
    const { samples } = await scrapeMetrics(service.metricsPort);
    const handled = samples.filter((sample) => sample.name === 'grpc_server_handled_total');
    assert.equal(
      sampleValue(handled, 'grpc_server_handled_total', { grpc_method: 'GetUser', grpc_code: 'InvalidArgument' }),
      Object.keys(MISTAKES).length,
    );
    assert.deepEqual(
      handled.filter((sample) => sample.labels.grpc_code === 'Unimplemented' || sample.labels.grpc_service === 'evil.v1.Probe'),
      [],
    );
  });

  it('an oversized request is refused as RESOURCE_EXHAUSTED before it is decoded, and a valid request of the largest size still passes', async () => {
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

describe('strings that are not UTF-8', () => {
  let service: ServiceProcess;
  before(async () => {
    service = await startServiceProcess(MAIN, { GRPC_HOST: '127.0.0.1' });
  });
  after(() => service?.stop());

  /** A CreateUser request as bytes, the display name given as raw bytes. */
  const createUser = (displayName: Buffer) => {
    const writer = new BinaryWriter();
    writer.tag(1, WireType.LengthDelimited).string('bytes@example.com');
    writer.tag(2, WireType.LengthDelimited).bytes(displayName);
    return Buffer.from(writer.finish());
  };

  it('are INVALID_ARGUMENT naming the field, so that two different byte strings never become the same text', async () => {
    for (const invalid of [Buffer.from([0x41, 0xff]), Buffer.from([0x41, 0xfe]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80])]) {
      const request = http2GrpcCall(`127.0.0.1:${service.port}`, '/user.v1.UserService/CreateUser', {}, grpcFrame(createUser(invalid)));
      const { status, message } = await request.ended;
      request.close();
      assert.equal(status, Code.INVALID_ARGUMENT, `${invalid.toString('hex')}: ${status} ${message}`);
      assert.match(message, /display_name: must be valid UTF-8/, invalid.toString('hex'));
    }
  });
});
