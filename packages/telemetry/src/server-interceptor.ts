import { ServerInterceptingCall, status as Code, type ServerInterceptor } from '@grpc/grpc-js';
import { context, type Context, type TextMapGetter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import {
  grpcCodeName,
  grpcMethodLabels,
  rpcSystemOf,
  type GrpcServerMetrics,
  type MethodShape,
  type ServerCallRecorder,
  type ServerProtocol,
} from './grpc-metrics';
import { METADATA_GETTER, startServerSpan, type ServerSpan } from './server-span';
import { TRACE_ID_METADATA_KEY } from './trace-context';

export interface ServerTelemetryOptions {
  /** Writes one access line per call, at info. */
  logger: Logger;
  /** Set: every call is counted and timed (go-grpc-prometheus metrics). */
  metrics?: GrpcServerMetrics | undefined;
  /** Every call gets a server span (the preload started tracing); otherwise none is made. */
  tracing?: boolean | undefined;
}

/**
 * What telemetry records of one served call, whatever protocol it came over
 * (the gRPC port's interceptor below, the web endpoint's for gRPC-Web and
 * Connect): its server span, its metrics, its trace id, and one access line
 * as it ends, written in the span's context, so that it carries the trace id.
 */
export class ServerCallObserver {
  readonly #startedAt = process.hrtime.bigint();
  readonly #recorder: ServerCallRecorder | undefined;
  #span: ServerSpan | undefined;
  #ended = false;

  constructor(
    private readonly options: ServerTelemetryOptions,
    private readonly method: MethodShape,
    private readonly peer: () => string,
    private readonly protocol: ServerProtocol = 'grpc',
  ) {
    this.#recorder = options.metrics?.start(method, protocol);
  }

  /**
   * Starts the call's server span, a child of the caller's trace context in
   * `carrier`, when tracing is on, and returns the context its handler must
   * run in: the span's, or the one active here when there is no span.
   */
  startSpan<Carrier>(carrier: Carrier, getter: TextMapGetter<Carrier>): Context {
    if (this.options.tracing && this.#span === undefined) this.#span = startServerSpan(this.method.path, this.protocol, carrier, getter);
    return this.#span?.context ?? context.active();
  }

  received(): void {
    this.#recorder?.received();
  }

  sent(): void {
    this.#recorder?.sent();
  }

  /** The trace id of the call's span when it is sampled: what `x-trace-id` and the exemplar carry. */
  traceId(): string | undefined {
    return this.#span?.traceId;
  }

  /**
   * Records the call's end with its status code (and, for a server fault,
   * the message the span's status carries); only the first end counts.
   */
  end(code: number, message?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#recorder?.finish(code, this.traceId());
    const span = this.#span;
    if (this.options.logger.isLevelEnabled('info')) {
      // In the span's context, so that the line carries its trace id wherever the call ended (a cancellation, say).
      if (span === undefined) this.#writeAccessLine(code);
      else context.with(span.context, this.#writeAccessLine, this, code);
    }
    span?.end(code, message);
  }

  #writeAccessLine(code: number): void {
    const { logger } = this.options;
    const { grpc_service: service, grpc_method: name } = grpcMethodLabels(this.method.path);
    logger.info(
      {
        rpc: { system: rpcSystemOf(this.protocol), protocol: this.protocol, service, method: name, grpc: { status_code: code } },
        event: { duration: Number(process.hrtime.bigint() - this.#startedAt) },
        client: { address: this.peer() },
      },
      `${this.method.path} ${grpcCodeName(code)}`,
    );
  }
}

/**
 * Everything telemetry does around a call on the gRPC port, as one grpc-js
 * interceptor: a ServerCallObserver (server span, metrics, access line), and `x-trace-id`
 * in the response headers, or in the trailers of a call that fails before
 * sending headers, so a caller can go straight to the trace. The cause of a
 * server error is logged separately, where it is caught.
 *
 * One layer rather than one each: every layer wraps every callback of every
 * call, which showed in CPU profiles (bench/).
 */
export function serverTelemetryInterceptor(options: ServerTelemetryOptions): ServerInterceptor {
  return (method, call) => {
    const observer = new ServerCallObserver(options, method, () => call.getPeer());
    let headersSent = false;
    // grpc-js calls the handler from the next listener's onReceiveMetadata (client and bidi streams) or
    // onReceiveHalfClose (unary, server streams): run there, it runs in the span's context. Metadata comes first.
    let spanContext: Context | undefined;
    const onReceiveMessage = (message: unknown, nextMessage: (message: unknown) => void) => {
      observer.received();
      nextMessage(message);
    };
    const onCancel = () => observer.end(Code.CANCELLED);
    return new ServerInterceptingCall(call, {
      // One listener or the other, not a spread per call: this runs for every call.
      start: (next) =>
        next(
          options.tracing
            ? {
                onReceiveMetadata: (metadata, nextMetadata) => {
                  spanContext = observer.startSpan(metadata, METADATA_GETTER);
                  context.with(spanContext, nextMetadata, undefined, metadata);
                },
                onReceiveHalfClose: (nextHalfClose) => {
                  if (spanContext === undefined) nextHalfClose();
                  else context.with(spanContext, nextHalfClose);
                },
                onReceiveMessage,
                onCancel,
              }
            : { onReceiveMessage, onCancel },
        ),
      sendMetadata: (metadata, next) => {
        headersSent = true;
        const id = observer.traceId();
        if (id) metadata.set(TRACE_ID_METADATA_KEY, id);
        next(metadata);
      },
      sendMessage: (message, next) => {
        observer.sent();
        next(message);
      },
      sendStatus: (status, next) => {
        const id = observer.traceId();
        if (!headersSent && id && status.metadata) status.metadata.set(TRACE_ID_METADATA_KEY, id);
        observer.end(status.code, status.details);
        next(status);
      },
    });
  };
}
