/**
 * Clients that hold a connection without finishing anything: one that
 * trickles a request body while answering keepalive pings (a slowloris), and
 * one that keeps its connection after the server's GOAWAY. Both must lose
 * the connection in bounded time, through a real service process.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { grpcFrame, RawHttp2Connection, sampleValue, scrapeMetrics, startServiceProcess, type ServiceProcess } from '@platform/testing';

const MAIN = path.resolve(__dirname, 'echo/main.js');
const ECHO = '/echo.v1.EchoService/Echo';
/** Short limits, so the test is quick; the defaults (10 s, 30 s) are the same code. */
const LIMITS = { GRPC_REQUEST_RECEIVE_TIMEOUT_MS: '1000', GRPC_MAX_CONNECTION_IDLE_MS: '1000' };
/** Far beyond the limits: what a connection that is never closed runs into. */
const GIVE_UP_MS = 20_000;
/** nghttp2's own limit on one header field; a larger one is a connection error (COMPRESSION_ERROR). */
const OVER_HPACK_FIELD_LIMIT = 300_000;
const COMPRESSION_ERROR = 9;

/** Resolves true when the server closes the connection, false if it is still open after GIVE_UP_MS. */
async function closedByServer(connection: RawHttp2Connection): Promise<boolean> {
  const giveUp = new AbortController();
  try {
    return await Promise.race([connection.closed.then(() => true), sleep(GIVE_UP_MS, false, { signal: giveUp.signal })]);
  } finally {
    giveUp.abort();
  }
}

describe('slow and stubborn clients, through an echo-service process', () => {
  let service: ServiceProcess;
  before(async () => {
    service = await startServiceProcess(MAIN, { GRPC_HOST: '127.0.0.1', METRICS_HOST: '127.0.0.1', ...LIMITS });
  });
  after(() => service?.stop());

  it('ends a unary call whose body trickles in with RESOURCE_EXHAUSTED, then closes the idle connection', async () => {
    const connection = await RawHttp2Connection.open('127.0.0.1', service.port);
    const body = grpcFrame(Buffer.alloc(200, 0x41));
    let sent = 0;
    // A byte every 50 ms: 10 s for the whole body, never quite done within the limit.
    const trickle = setInterval(() => sent < body.length - 1 && connection.send(1, body.subarray(sent, ++sent)), 50);
    try {
      connection.startCall(1, ECHO);
      assert.ok(await closedByServer(connection), `connection still open after ${GIVE_UP_MS} ms of trickling (${sent} bytes sent)`);
      assert.ok(connection.ended.has(1) || connection.resets.has(1), 'the server ended the call');
      const { samples } = await scrapeMetrics(service.metricsPort);
      assert.equal(sampleValue(samples, 'grpc_server_handled_total', { grpc_method: 'Echo', grpc_code: 'ResourceExhausted' }), 1);
    } finally {
      clearInterval(trickle);
      connection.destroy();
    }
  });

  it('closes a connection it sent a GOAWAY for, although the client keeps it open', async () => {
    const connection = await RawHttp2Connection.open('127.0.0.1', service.port);
    try {
      connection.startCall(1, ECHO, { 'x-padding': 'a'.repeat(OVER_HPACK_FIELD_LIMIT) });
      assert.ok(await closedByServer(connection), `connection still open ${GIVE_UP_MS} ms after the GOAWAY`);
      assert.deepEqual(
        connection.goaways.map((goaway) => goaway.code),
        [COMPRESSION_ERROR],
      );
    } finally {
      connection.destroy();
    }
  });
});
