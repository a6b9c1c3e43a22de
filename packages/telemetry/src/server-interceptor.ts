import { ServerInterceptingCall, status as Code, type ServerInterceptor } from '@grpc/grpc-js';
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
import { currentTraceId, TRACE_ID_METADATA_KEY } from './trace-context';

export interface ServerTelemetryOptions {
  /** Writes one access line per call, at info. */
  logger: Logger;
  /** Set: every call is counted and timed (go-grpc-prometheus metrics). */
  metrics?: GrpcServerMetrics | undefined;
}

/** Not looked up yet; undefined means looked up and there is none (unsampled, or tracing off). */
const NOT_LOOKED_UP = null;

/**
 * What telemetry records of one served call, whatever protocol it came over
 * (the gRPC port's interceptor below, the web endpoint's for gRPC-Web and
 * Connect): its metrics, its trace id, and one access line as it ends,
 * written while the call's span is active, so that it carries the trace id.
 */
export class ServerCallObserver {
  readonly #startedAt = process.hrtime.bigint();
  readonly #recorder: ServerCallRecorder | undefined;
  #traceId: string | undefined | typeof NOT_LOOKED_UP = NOT_LOOKED_UP;
  #ended = false;

  constructor(
    private readonly options: ServerTelemetryOptions,
    private readonly method: MethodShape,
    private readonly peer: () => string,
    private readonly protocol: ServerProtocol = 'grpc',
  ) {
    this.#recorder = options.metrics?.start(method, protocol);
  }

  received(): void {
    this.#recorder?.received();
  }

  sent(): void {
    this.#recorder?.sent();
  }

  /**
   * The trace id of the call's span, looked up once: the server span is not
   * active yet when the call starts, only from the handler on, so the first
   * lookup waits for the response.
   */
  traceId(): string | undefined {
    if (this.#traceId === NOT_LOOKED_UP) this.#traceId = currentTraceId();
    return this.#traceId;
  }

  /** Records the call's end with its status code; only the first end counts. */
  end(code: number): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#recorder?.finish(code, this.traceId());
    const { logger } = this.options;
    if (!logger.isLevelEnabled('info')) return;
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
 * interceptor: a ServerCallObserver (metrics, access line), and `x-trace-id`
 * in the response headers, or in the trailers of a call that fails before
 * sending headers, so a caller can go straight to the trace. The cause of a
 * server error is logged separately, where it is caught.
 *
 * One layer rather than one each: every layer wraps every callback of every
 * call, which showed in CPU profiles (bench/), and the trace id is looked up
 * once.
 */
export function serverTelemetryInterceptor(options: ServerTelemetryOptions): ServerInterceptor {
  return (method, call) => {
    const observer = new ServerCallObserver(options, method, () => call.getPeer());
    let headersSent = false;
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message, nextMessage) => {
            observer.received();
            nextMessage(message);
          },
          onCancel: () => observer.end(Code.CANCELLED),
        }),
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
        observer.end(status.code);
        next(status);
      },
    });
  };
}
