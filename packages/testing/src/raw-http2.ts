import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

/** Frame types (RFC 9113, section 6). */
const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, CONTINUATION: 9 } as const;
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** The largest frame payload a peer must accept before SETTINGS say otherwise. */
const MAX_FRAME_PAYLOAD = 16_384;

/**
 * An HTTP/2 client written on a bare socket, for what a conforming client
 * never does: it keeps a connection open after the server's GOAWAY, sends
 * header blocks of any size, and trickles a request a byte at a time. It
 * answers SETTINGS and PING, as every client (and a slowloris) does, and
 * records what the server does to its streams and to the connection.
 */
export class RawHttp2Connection {
  /** GOAWAY frames received: error code and last stream id. */
  readonly goaways: { code: number; lastStreamId: number }[] = [];
  /** RST_STREAM error codes received, by stream id. */
  readonly resets = new Map<number, number>();
  /** Streams the server ended (END_STREAM on HEADERS or DATA). */
  readonly ended = new Set<number>();
  /** Resolves when the server has closed the connection (or it failed). */
  readonly closed: Promise<void>;
  #pending = Buffer.alloc(0);

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('error', () => undefined);
    this.closed = once(socket, 'close').then(() => undefined);
  }

  static async open(host: string, port: number): Promise<RawHttp2Connection> {
    const socket = connect(port, host);
    await once(socket, 'connect');
    const connection = new RawHttp2Connection(socket);
    socket.write(PREFACE);
    connection.#frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0));
    return connection;
  }

  /** A gRPC call's request headers on `streamId` (odd, increasing), with `extra` fields after the standard ones. */
  startCall(streamId: number, path: string, extra: Record<string, string> = {}): void {
    const fields: [string, string][] = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', path],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ...Object.entries(extra),
    ];
    const block = Buffer.concat(fields.map(([name, value]) => literalField(name, value)));
    for (let offset = 0; offset === 0 || offset < block.length; offset += MAX_FRAME_PAYLOAD) {
      const last = offset + MAX_FRAME_PAYLOAD >= block.length;
      this.#frame(
        offset === 0 ? FRAME.HEADERS : FRAME.CONTINUATION,
        last ? FLAG.END_HEADERS : 0,
        streamId,
        block.subarray(offset, offset + MAX_FRAME_PAYLOAD),
      );
    }
  }

  /** Request bytes on `streamId`; `end` half-closes the stream. */
  send(streamId: number, bytes: Buffer, options: { end?: boolean } = {}): void {
    this.#frame(FRAME.DATA, options.end ? FLAG.END_STREAM : 0, streamId, bytes);
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #frame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.socket.destroyed) return;
    const header = Buffer.alloc(9);
    header.writeUIntBE(payload.length, 0, 3);
    header.writeUInt8(type, 3);
    header.writeUInt8(flags, 4);
    header.writeUInt32BE(streamId, 5);
    this.socket.write(Buffer.concat([header, payload]));
  }

  #read(chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 9) {
      const length = this.#pending.readUIntBE(0, 3);
      if (this.#pending.length < 9 + length) return;
      const type = this.#pending.readUInt8(3);
      const flags = this.#pending.readUInt8(4);
      const streamId = this.#pending.readUInt32BE(5) & 0x7fffffff;
      const payload = this.#pending.subarray(9, 9 + length);
      this.#pending = this.#pending.subarray(9 + length);
      if (type === FRAME.SETTINGS && !(flags & FLAG.ACK)) this.#frame(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0));
      else if (type === FRAME.PING && !(flags & FLAG.ACK)) this.#frame(FRAME.PING, FLAG.ACK, 0, payload);
      else if (type === FRAME.GOAWAY)
        this.goaways.push({ lastStreamId: payload.readUInt32BE(0) & 0x7fffffff, code: payload.readUInt32BE(4) });
      else if (type === FRAME.RST_STREAM) this.resets.set(streamId, payload.readUInt32BE(0));
      else if ((type === FRAME.HEADERS || type === FRAME.DATA) && flags & FLAG.END_STREAM) this.ended.add(streamId);
    }
  }
}

/** HPACK "literal header field never indexed, new name" (RFC 7541, 6.2.3), without Huffman coding: no table state to share. */
function literalField(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x10]), hpackString(name), hpackString(value)]);
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text);
  return Buffer.concat([hpackInteger(bytes.length, 7), bytes]);
}

/** An HPACK integer with an N-bit prefix (RFC 7541, 5.1); the Huffman bit, above the prefix, stays 0. */
function hpackInteger(value: number, prefixBits: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([value]);
  const bytes = [max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
