import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';

/** One gRPC call made with node:http2 itself, for headers no gRPC client lets a caller send. */
export interface Http2Call {
  /** The response headers (a trailers-only response carries grpc-status here). */
  readonly headers: Promise<IncomingHttpHeaders>;
  /** Length-prefixed messages received so far. */
  readonly messages: Buffer[];
  /** grpc-status and grpc-message, from the trailers or a trailers-only response. */
  readonly ended: Promise<{ status: number | undefined; message: string }>;
  close(): void;
}

/** A gRPC message as it goes on the wire: compressed flag, length, bytes. */
export function grpcFrame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

export function http2GrpcCall(address: string, path: string, headers: Record<string, string>, body: Buffer): Http2Call {
  const session: ClientHttp2Session = connect(`http://${address}`);
  session.on('error', () => undefined);
  const stream = session.request({
    [constants.HTTP2_HEADER_METHOD]: 'POST',
    [constants.HTTP2_HEADER_PATH]: path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  });
  const messages: Buffer[] = [];
  let pending = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      const length = pending.readUInt32BE(1);
      messages.push(pending.subarray(5, 5 + length));
      pending = pending.subarray(5 + length);
    }
  });
  const responseHeaders = new Promise<IncomingHttpHeaders>((resolve, reject) => {
    stream.once('response', resolve);
    stream.once('error', reject);
  });
  const ended = new Promise<{ status: number | undefined; message: string }>((resolve) => {
    const finish = (fields: IncomingHttpHeaders) =>
      resolve({
        status: fields['grpc-status'] === undefined ? undefined : Number(fields['grpc-status']),
        message: decodeURIComponent(String(fields['grpc-message'] ?? '')),
      });
    stream.once('trailers', finish);
    stream.once('response', (fields) => fields['grpc-status'] !== undefined && finish(fields));
    stream.once('close', () => resolve({ status: undefined, message: 'closed without a status' }));
  });
  stream.end(body);
  return {
    headers: responseHeaders,
    messages,
    ended,
    close: () => {
      stream.close();
      session.close();
    },
  };
}
