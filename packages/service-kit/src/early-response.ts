/**
 * What grpc-js leaves out when it answers a call before the request has
 * ended (a rejected message on a client stream, a request not received in
 * time): it sends the status and keeps reading, so a client may go on
 * sending, or trickle, on a call that is over, and its connection never
 * counts as idle. HTTP/2 lets a server that has sent a complete response
 * ask the client to stop with RST_STREAM (RFC 9113, section 8.1); here every
 * stream of the server gets one if its request is still open
 * ABANDON_REQUEST_AFTER_MS after the response ended.
 *
 * Not at once, and CANCEL rather than NO_ERROR: a grpc-js client that
 * receives the reset before it has processed the trailers reports INTERNAL
 * for NO_ERROR ("Call ended without gRPC status", measured with the fuzz
 * test's client streams) and CANCELLED for CANCEL; the delay lets it read the
 * status first, and should it not, CANCELLED is no server fault.
 *
 * grpc-js 1.14 creates its HTTP/2 servers in a private method,
 * Server#createHttp2Server; it is wrapped on the instance, and the
 * kit's slow-clients tests fail if an upgrade moves it.
 */
import { constants, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

type CreateHttp2Server = (credentials: unknown) => Http2Server;

/** How long a client may go on sending after the response has ended. */
const ABANDON_REQUEST_AFTER_MS = 1000;

export function stopRequestsAfterResponse(server: Server): void {
  const internals = server as unknown as { createHttp2Server?: CreateHttp2Server };
  const create = internals.createHttp2Server;
  if (typeof create !== 'function') {
    throw new Error('@grpc/grpc-js no longer has Server#createHttp2Server: review packages/service-kit/src/early-response.ts');
  }
  internals.createHttp2Server = (credentials) => {
    const http2Server = create.call(server, credentials);
    http2Server.on('stream', (stream: ServerHttp2Stream) => {
      // grpc-js sends trailers from its own 'wantTrailers' listener, added after this one: look once it has run.
      // Nothing to look at when the request has ended, as every unary request has by its answer: no work per call then.
      const check = () => requestDone(stream) || setImmediate(() => resetIfAnswered(stream));
      stream.on('wantTrailers', check);
      stream.on('finish', check);
    });
    return http2Server;
  };
}

function resetIfAnswered(stream: ServerHttp2Stream): void {
  if (requestDone(stream)) return;
  // A trailers-only response carries grpc-status in its headers; any other ends with trailers.
  const answered = stream.sentTrailers !== undefined || stream.sentHeaders?.['grpc-status'] !== undefined;
  if (!answered) return;
  setTimeout(() => requestDone(stream) || stream.close(constants.NGHTTP2_CANCEL), ABANDON_REQUEST_AFTER_MS).unref();
}

function requestDone(stream: ServerHttp2Stream): boolean {
  return stream.destroyed || stream.closed || stream.readableEnded;
}
