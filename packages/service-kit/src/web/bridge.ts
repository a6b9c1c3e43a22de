import { Metadata } from '@grpc/grpc-js';
import { fromBinary, toBinary, type DescMethod, type DescService } from '@bufbuild/protobuf';
import { type Code as ConnectCode, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { context as otelContext, type Context } from '@opentelemetry/api';
import { HEADERS_GETTER, TRACE_ID_METADATA_KEY, type Logger, type ServerCallObserver, type ServerProtocol } from '@platform/telemetry';
import { AppError, Code, toRpcStatus } from '../errors';
import { CLIENT_ID_METADATA_KEY } from '../rate-limit';
import {
  CANCELLED_BY_CALLER,
  reportServerFault,
  shuttingDown,
  withBeforeHandler,
  type AnyHandler,
  type CallContext,
  type MethodDefinitionShape,
  type ServiceDefinitionShape,
  type ServiceImplementation,
} from '../rpc';

/** What a web call is admitted by before its handler runs (a rate limit); throwing refuses it. */
export type WebCallAdmission = (call: { path: string; clientId: string | undefined; peer: string }) => Promise<void>;

export interface BridgeOptions {
  logger: Logger;
  /** Aborted when the server begins to shut down: open streams then end with UNAVAILABLE. */
  stopping: AbortSignal;
  beforeHandler: readonly ((path: string, signal: AbortSignal) => Promise<void>)[];
  admissions: readonly WebCallAdmission[];
  observe: (method: MethodDefinitionShape, peer: () => string, protocol: ServerProtocol) => ServerCallObserver;
  /** The caller's address, as the HTTP server saw it. */
  peerOf: (context: HandlerContext) => string;
}

type AnyConnectImpl = (input: unknown, context: HandlerContext) => Promise<unknown> | AsyncIterable<unknown>;

/**
 * The Connect implementation of a service whose handlers are written for
 * the gRPC port: the same functions, called with the same call context, so
 * gRPC-Web and Connect callers get what gRPC callers get, validation and
 * error details included. Messages cross between protobuf-es (Connect's)
 * and ts-proto (the handlers') as protobuf binary, which both read and
 * write to the specification: nothing is mapped by hand.
 *
 * Around each call, what the gRPC port does with its telemetry and feature
 * interceptors: a server span (child of the browser's traceparent), the
 * call's metrics with its protocol, the access line, `x-trace-id`, the
 * features' admission (rate limit) and their beforeHandler (faults).
 */
export function connectImplementation<Definition extends ServiceDefinitionShape>(
  schema: DescService,
  definition: Definition,
  implementation: ServiceImplementation<Definition>,
  options: BridgeOptions,
): ServiceImpl<DescService> {
  const adapted: Record<string, AnyConnectImpl> = {};
  for (const [name, method] of Object.entries(definition)) {
    const desc = schema.methods.find((candidate) => `/${schema.typeName}/${candidate.name}` === method.path);
    if (desc === undefined) throw new Error(`${schema.typeName} has no method for ${method.path}`);
    const handler = (implementation as Record<string, AnyHandler>)[name];
    if (typeof handler !== 'function') throw new Error(`no handler for ${method.path}`);
    adapted[desc.localName] = adaptMethod(method, desc, withBeforeHandler(method, handler, options.beforeHandler), options);
  }
  return adapted as ServiceImpl<DescService>;
}

function adaptMethod(method: MethodDefinitionShape, desc: DescMethod, handler: AnyHandler, options: BridgeOptions): AnyConnectImpl {
  const toHandler = (message: unknown) => method.requestDeserialize(Buffer.from(toBinary(desc.input, message as never)));
  const fromHandler = (response: unknown) => fromBinary(desc.output, method.responseSerialize(response as never));
  const inputOf = (input: unknown, call: WebCall) => {
    if (!method.requestStream) {
      call.observer.received();
      return toHandler(input);
    }
    return mapAsync(input as AsyncIterable<unknown>, (message) => {
      call.observer.received();
      return toHandler(message);
    });
  };

  const begin = async (context: HandlerContext) => {
    const protocol = protocolOf(context);
    const call = new WebCall(method, context, protocol, options);
    try {
      for (const admit of options.admissions) {
        await admit({ path: method.path, clientId: context.requestHeader.get(CLIENT_ID_METADATA_KEY) ?? undefined, peer: call.peer });
      }
    } catch (error) {
      throw call.fail(error);
    }
    return call;
  };

  if (!method.responseStream) {
    return async (input, context) => {
      const call = await begin(context);
      try {
        const response = fromHandler(await otelContext.with(call.otel, () => handler(inputOf(input, call), call) as Promise<unknown>));
        call.observer.sent();
        call.end(Code.OK);
        return response;
      } catch (error) {
        throw call.fail(error);
      }
    };
  }

  return async function* (input, context) {
    const call = await begin(context);
    let iterator: AsyncIterator<unknown> | undefined;
    try {
      const responses = otelContext.with(call.otel, () => handler(inputOf(input, call), call) as AsyncIterable<unknown>);
      // The handler's generator runs in the call's trace context, whoever pulls from it.
      const pull = responses[Symbol.asyncIterator]();
      iterator = pull;
      for (;;) {
        const next = await otelContext.with(call.otel, () => pull.next());
        if (next.done) break;
        call.observer.sent();
        yield fromHandler(next.value);
      }
      if (options.stopping.aborted) throw shuttingDown();
      // The handler ends a stream when its signal aborts: the caller went away, to hear nothing more.
      call.end(context.signal.aborted ? Code.CANCELLED : Code.OK);
    } catch (error) {
      throw call.fail(options.stopping.aborted ? shuttingDown() : error);
    } finally {
      // A caller that went away stops the iteration here, with nothing thrown: the handler's
      // generator is closed too (its own finally blocks run), and the call ends as cancelled.
      void iterator?.return?.().catch(() => undefined);
      call.end(Code.CANCELLED);
    }
  };
}

/** One web call: its context for the handler, its span and its observer. */
class WebCall implements CallContext {
  readonly method: string;
  readonly deadline: number;
  readonly peer: string;
  readonly observer: ServerCallObserver;
  /** What the handler runs in: the call's server span, when tracing is on. */
  readonly otel: Context;
  readonly #context: HandlerContext;
  readonly #signal: AbortSignal;
  readonly #logger: Logger;
  #metadata: Metadata | undefined;
  #ended = false;

  constructor(method: MethodDefinitionShape, context: HandlerContext, protocol: ServerProtocol, options: BridgeOptions) {
    this.method = method.path;
    this.#context = context;
    const timeoutMs = context.timeoutMs();
    this.deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    this.peer = options.peerOf(context);
    this.observer = options.observe(method, () => this.peer, protocol);
    this.otel = this.observer.startSpan(context.requestHeader, HEADERS_GETTER);
    // Streams also end when the server stops, as on the gRPC port.
    this.#signal = method.responseStream ? AbortSignal.any([context.signal, options.stopping]) : context.signal;
    const traceId = this.observer.traceId();
    if (traceId !== undefined) context.responseHeader.set(TRACE_ID_METADATA_KEY, traceId);
    this.#logger = options.logger;
  }

  get metadata(): Metadata {
    if (this.#metadata === undefined) {
      this.#metadata = new Metadata();
      for (const [key, value] of this.#context.requestHeader) {
        if (!key.endsWith('-bin')) this.#metadata.set(key, value);
      }
    }
    return this.#metadata;
  }

  get signal(): AbortSignal {
    return this.#signal;
  }

  /** Connect sends the headers with the first message or the end; nothing to send them earlier with. */
  sendHeaders(): void {}

  end(code: number, message?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.observer.end(code, message);
  }

  /** The error the caller receives, recorded as the call's end. */
  fail(error: unknown): ConnectError {
    const cause = this.#context.signal.aborted && !(error instanceof AppError) ? CANCELLED_BY_CALLER : error;
    reportServerFault(this.#logger, this.method, cause);
    const status = toRpcStatus(cause);
    this.end(status.code, status.message);
    const failure = new ConnectError(status.message, status.code as number as ConnectCode);
    for (const detail of status.details)
      failure.details.push({ type: detail.typeUrl.slice(detail.typeUrl.lastIndexOf('/') + 1), value: detail.value });
    return failure;
  }
}

/** gRPC-Web or Connect, from the negotiated protocol ("grpc-web", "connect"). */
function protocolOf(context: HandlerContext): ServerProtocol {
  return context.protocolName === 'grpc-web' ? 'grpc_web' : context.protocolName === 'connect' ? 'connect' : 'grpc';
}

async function* mapAsync(source: AsyncIterable<unknown>, map: (value: unknown) => unknown): AsyncIterable<unknown> {
  for await (const value of source) yield map(value);
}
