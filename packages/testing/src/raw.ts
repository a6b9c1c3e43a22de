import { Client, credentials, Metadata, type ChannelCredentials, type StatusObject } from '@grpc/grpc-js';

/** What a raw call needs to know of a method: its path and whether each side streams. */
export interface RawMethod {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/** How a raw call ended: the status the server sent, or a server stream the client cancelled once it was live. */
export type RawOutcome = { kind: 'status'; status: StatusObject; messages: number } | { kind: 'live'; messages: number };

const identity = (bytes: Buffer) => bytes;

/**
 * A grpc-js client that sends request bytes exactly as given (no serializer
 * between the test and the wire), for requests no generated client would make.
 */
export class RawClient {
  readonly #client: Client;

  /** `ownConnection`: not shared with other clients of the same address (grpc-js shares by default). */
  constructor(
    address: string,
    channelCredentials: ChannelCredentials = credentials.createInsecure(),
    options: { ownConnection?: boolean } = {},
  ) {
    this.#client = new Client(address, channelCredentials, options.ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {});
  }

  /**
   * Sends `frames` as the request messages of one call (unary and
   * server-streaming methods take the first) and resolves with how it ended.
   * A server stream that sends its headers is live: it is cancelled at once
   * and reported as such, since it would otherwise run until its deadline.
   */
  call(method: RawMethod, frames: readonly Buffer[], options: { deadlineMs: number; metadata?: Metadata }): Promise<RawOutcome> {
    const deadline = Date.now() + options.deadlineMs;
    const metadata = options.metadata ?? new Metadata();
    const { path } = method;
    return new Promise((resolve) => {
      let messages = 0;
      let live = false;
      const onStatus = (status: StatusObject) => resolve(live ? { kind: 'live', messages } : { kind: 'status', status, messages });
      const [first = Buffer.alloc(0)] = frames;
      if (!method.requestStream && !method.responseStream) {
        const call = this.#client.makeUnaryRequest(path, identity, identity, first, metadata, { deadline }, () => undefined);
        call.on('status', onStatus);
        return;
      }
      if (!method.requestStream) {
        const call = this.#client.makeServerStreamRequest(path, identity, identity, first, metadata, { deadline });
        call.on('data', () => (messages += 1));
        call.on('error', () => undefined);
        call.on('metadata', () => {
          live = true;
          call.cancel();
        });
        call.on('status', onStatus);
        return;
      }
      const call = method.responseStream
        ? this.#client.makeBidiStreamRequest(path, identity, identity, metadata, { deadline })
        : this.#client.makeClientStreamRequest(path, identity, identity, metadata, { deadline }, () => undefined);
      call.on('data', () => (messages += 1));
      call.on('error', () => undefined);
      call.on('status', onStatus);
      for (const frame of frames) call.write(frame);
      call.end();
    });
  }

  close(): void {
    this.#client.close();
  }
}
