import { once, setMaxListeners } from 'node:events';
import { Metadata as GrpcMetadata } from '@grpc/grpc-js';
import type {
  Deadline,
  Metadata,
  sendUnaryData,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from '@platform/telemetry';
import { AppError, Code, isServerFault, toGrpcStatus } from './errors';

/** What a handler knows about the call it serves, besides the request. */
export interface CallContext {
  /** Full method path, e.g. `/user.v1.UserService/GetUser`. */
  readonly method: string;
  readonly metadata: Metadata;
  /** The caller's deadline (Infinity when none); pass it on to downstream calls. */
  readonly deadline: Deadline;
  readonly peer: string;
  /** Aborted when the caller cancels, and for streams also when the server stops. */
  readonly signal: AbortSignal;
  /** Sends response headers now rather than with the first message (a stream can say it is live). */
  sendHeaders(): void;
}

/** The shape of one method in a ts-proto `outputServices=grpc-js` service definition. */
export interface MethodDefinitionShape {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  requestSerialize(value: never): Buffer;
  requestDeserialize(value: Buffer): unknown;
  responseSerialize(value: never): Buffer;
  responseDeserialize(value: Buffer): unknown;
}

export type ServiceDefinitionShape = Readonly<Record<string, MethodDefinitionShape>>;

type RequestOf<M> = M extends { requestDeserialize(value: Buffer): infer Request } ? Request : never;
type ResponseOf<M> = M extends { responseSerialize(value: infer Response): Buffer } ? Response : never;

/** Handlers are plain async functions; streams are async iterables in both directions. */
export type MethodImplementation<M> = M extends { requestStream: false; responseStream: false }
  ? (request: RequestOf<M>, context: CallContext) => Promise<ResponseOf<M>>
  : M extends { requestStream: false; responseStream: true }
    ? (request: RequestOf<M>, context: CallContext) => AsyncIterable<ResponseOf<M>>
    : M extends { requestStream: true; responseStream: false }
      ? (requests: AsyncIterable<RequestOf<M>>, context: CallContext) => Promise<ResponseOf<M>>
      : (requests: AsyncIterable<RequestOf<M>>, context: CallContext) => AsyncIterable<ResponseOf<M>>;

export type ServiceImplementation<Definition> = {
  [Method in keyof Definition]: MethodImplementation<Definition[Method]>;
};

export interface AdapterOptions {
  logger: Logger;
  /** Aborted when the server begins to shut down: open streams then end with UNAVAILABLE. */
  stopping: AbortSignal;
  /** Run in order before every handler, inside the call's span (ServerFeature.beforeHandler); none by default. */
  beforeHandler?: readonly ((path: string, signal: AbortSignal) => Promise<void>)[];
}

export type AnyHandler = (input: unknown, context: CallContext) => Promise<unknown> | AsyncIterable<unknown>;

/**
 * Turns async handlers into grpc-js handlers. This is the only place where a
 * thrown error becomes a gRPC status, so handlers never build one by hand.
 */
export function toGrpcImplementation<Definition extends ServiceDefinitionShape>(
  definition: Definition,
  implementation: ServiceImplementation<Definition>,
  options: AdapterOptions,
): UntypedServiceImplementation {
  // Every open stream listens on the one server-wide signal.
  setMaxListeners(0, options.stopping);
  const adapted: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const handler = (implementation as Record<string, AnyHandler>)[name];
    if (typeof handler !== 'function') throw new Error(`no handler for ${method.path}`);
    adapted[name] = adaptMethod(method, withBeforeHandler(method, handler, options.beforeHandler ?? []), options);
  }
  return adapted;
}

/**
 * What features run before the handler (an injected fault) runs inside the
 * call's server span, and fails the call exactly as an error thrown by the
 * handler would.
 */
export function withBeforeHandler(
  method: MethodDefinitionShape,
  handler: AnyHandler,
  hooks: readonly ((path: string, signal: AbortSignal) => Promise<void>)[],
): AnyHandler {
  if (hooks.length === 0) return handler;
  const before = async (signal: AbortSignal) => {
    for (const hook of hooks) await hook(method.path, signal);
  };
  if (method.responseStream) {
    return async function* (input, context) {
      await before(context.signal);
      yield* handler(input, context) as AsyncIterable<unknown>;
    };
  }
  return async (input, context) => {
    await before(context.signal);
    return handler(input, context);
  };
}

function adaptMethod(method: MethodDefinitionShape, handler: AnyHandler, options: AdapterOptions): UntypedHandleCall {
  const fail = (error: unknown) => {
    reportServerFault(options.logger, method.path, error);
    return toGrpcStatus(error);
  };

  if (!method.requestStream && !method.responseStream) {
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const context = contextOf(call, method.path, undefined);
      (handler(call.request, context) as Promise<unknown>).then(
        (response) => callback(null, response),
        (error: unknown) => callback(fail(error)),
      );
    };
  }

  if (method.requestStream && !method.responseStream) {
    return (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const context = contextOf(call, method.path, undefined);
      (handler(requestsOf(call), context) as Promise<unknown>).then(
        (response) => callback(null, response),
        (error: unknown) => callback(fail(error)),
      );
    };
  }

  return (call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>) => {
    const context = contextOf(call, method.path, options.stopping);
    const input = method.requestStream
      ? requestsOf(call as ServerDuplexStream<unknown, unknown>)
      : (call as ServerWritableStream<unknown, unknown>).request;
    const responses = handler(input, context) as AsyncIterable<unknown>;
    // A caller that went away hears nothing more, but the call still ends here with its reason
    // (CANCELLED; grpc-js sends nothing on a cancelled call), so that the handler's stream is
    // closed as on any other end.
    const ended = () => {
      if (options.stopping.aborted) return toGrpcStatus(shuttingDown());
      if (!context.signal.aborted) return undefined;
      return toGrpcStatus(context.signal.reason instanceof AppError ? context.signal.reason : CANCELLED_BY_CALLER);
    };
    writeAll(responses, call, context.signal).then(
      () => {
        const status = ended();
        if (status) call.emit('error', status);
        else call.end();
      },
      (error: unknown) => call.emit('error', ended() ?? fail(error)),
    );
  };
}

/**
 * The default async iterator destroys the whole duplex when the request side
 * ends, which would drop the responses and status still to be sent.
 */
function requestsOf(call: ServerReadableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>): AsyncIterable<unknown> {
  return call.iterator({ destroyOnReturn: false });
}

async function writeAll(
  responses: AsyncIterable<unknown>,
  call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
  signal: AbortSignal,
): Promise<void> {
  for await (const response of responses) {
    if (signal.aborted) return;
    if (!call.write(response)) {
      try {
        await once(call, 'drain', { signal });
      } catch (error) {
        if (signal.aborted) return;
        throw error;
      }
    }
  }
}

interface AnyServerCall {
  readonly metadata: Metadata;
  getDeadline(): Deadline;
  getPeer(): string;
  sendMetadata(metadata: Metadata): void;
  on(event: 'cancelled' | 'close' | 'finish', listener: () => void): unknown;
}

/**
 * One shared abort reason: grpc-js reports `cancelled` as calls end, so a new
 * error (and its stack trace) per call showed up in CPU profiles (bench/).
 */
export const CANCELLED_BY_CALLER = new AppError(Code.CANCELLED, 'cancelled by the caller');

function contextOf(call: AnyServerCall, method: string, stopping: AbortSignal | undefined): CallContext {
  return new ServerCallContext(call, method, stopping);
}

/**
 * The signal is made when first asked for: most unary handlers never look at
 * it, and an AbortController per call, aborted as every call ends, showed in
 * CPU profiles (bench/). A class, so the lazy getter lives on the prototype
 * (an object literal with getters per call measured slower than no laziness).
 */
class ServerCallContext implements CallContext {
  readonly metadata: Metadata;
  readonly deadline: Deadline;
  #controller: AbortController | undefined;
  #cancelled = false;

  constructor(
    private readonly call: AnyServerCall,
    readonly method: string,
    stopping: AbortSignal | undefined,
  ) {
    this.metadata = call.metadata;
    this.deadline = call.getDeadline();
    call.on('cancelled', () => {
      this.#cancelled = true;
      this.#controller?.abort(CANCELLED_BY_CALLER);
    });
    if (stopping !== undefined) {
      const onStop = () => this.#controllerOf().abort(shuttingDown());
      if (stopping.aborted) onStop();
      stopping.addEventListener('abort', onStop, { once: true });
      const release = () => stopping.removeEventListener('abort', onStop);
      call.on('finish', release);
      call.on('close', release);
      call.on('cancelled', release);
    }
  }

  get peer(): string {
    return this.call.getPeer();
  }

  get signal(): AbortSignal {
    return this.#controllerOf().signal;
  }

  sendHeaders(): void {
    this.call.sendMetadata(new GrpcMetadata());
  }

  #controllerOf(): AbortController {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#cancelled) this.#controller.abort(CANCELLED_BY_CALLER);
    }
    return this.#controller;
  }
}

/** Logs the cause of a call's failure when it is the server's fault; the caller's mistakes are only in the access line. */
export function reportServerFault(logger: Logger, path: string, error: unknown): void {
  if (isServerFault(error)) logger.error({ err: error, method: path }, 'call failed');
}

export function shuttingDown(): AppError {
  return AppError.unavailable('server is shutting down; reconnect to another replica');
}
