/**
 * Framing mistakes a client makes on the wire, through a real service
 * process: they are the caller's (INVALID_ARGUMENT), never UNIMPLEMENTED, a
 * server-fault code that would let any client spend the availability budget;
 * calls to methods the server does not have stay out of its metrics; and
 * strings that are not UTF-8 are refused rather than silently repaired.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { grpcFrame, http2GrpcCall, sampleValue, scrapeMetrics, startServiceProcess, type ServiceProcess } from '@platform/testing';
import { Code } from '../src';

const MAIN = path.resolve(__dirname, 'echo/main.js');
const ECHO = '/echo.v1.EchoService/Echo';

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

describe('framing mistakes and unknown methods, through an echo-service process', () => {
  let service: ServiceProcess;
  before(async () => {
    service = await startServiceProcess(MAIN, { GRPC_HOST: '127.0.0.1', METRICS_HOST: '127.0.0.1' });
  });
  after(() => service?.stop());

  for (const [mistake, body] of Object.entries(MISTAKES)) {
    it(`${mistake} is INVALID_ARGUMENT`, async () => {
      const { status, message } = await call(service, ECHO, body);
      assert.equal(status, Code.INVALID_ARGUMENT, `${status}: ${message}`);
      assert.match(message, /^malformed request for \/echo\.v1\.EchoService\/Echo: /);
    });
  }

  it('counts them as InvalidArgument, and calls to unknown methods not at all', async () => {
    for (let i = 0; i < 5; i++)
      assert.equal((await call(service, `/evil.v1.Probe/Method${i}`, grpcFrame(Buffer.alloc(0)))).status, Code.UNIMPLEMENTED);
    const { samples } = await scrapeMetrics(service.metricsPort);
    const handled = samples.filter((sample) => sample.name === 'grpc_server_handled_total');
    assert.equal(
      sampleValue(handled, 'grpc_server_handled_total', { grpc_method: 'Echo', grpc_code: 'InvalidArgument' }),
      Object.keys(MISTAKES).length,
    );
    assert.deepEqual(
      handled.filter((sample) => sample.labels.grpc_code === 'Unimplemented' || sample.labels.grpc_service === 'evil.v1.Probe'),
      [],
    );
  });
});

describe('strings that are not UTF-8', () => {
  let service: ServiceProcess;
  before(async () => {
    service = await startServiceProcess(MAIN, { GRPC_HOST: '127.0.0.1' });
  });
  after(() => service?.stop());

  /** An EchoRequest as bytes, its text given as raw bytes. */
  const echoRequest = (text: Buffer) => {
    const writer = new BinaryWriter();
    writer.tag(1, WireType.LengthDelimited).bytes(text);
    return Buffer.from(writer.finish());
  };

  it('are INVALID_ARGUMENT naming the field, so that two different byte strings never become the same text', async () => {
    for (const invalid of [Buffer.from([0x41, 0xff]), Buffer.from([0x41, 0xfe]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80])]) {
      const request = http2GrpcCall(`127.0.0.1:${service.port}`, ECHO, {}, grpcFrame(echoRequest(invalid)));
      const { status, message } = await request.ended;
      request.close();
      assert.equal(status, Code.INVALID_ARGUMENT, `${invalid.toString('hex')}: ${status} ${message}`);
      assert.match(message, /text: must be valid UTF-8/, invalid.toString('hex'));
    }
  });
});
