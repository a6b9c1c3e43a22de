import { ServerInterceptingCall, status as Code, type ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { grpcCodeName, grpcMethodLabels, type GrpcServerMetrics } from './grpc-metrics';
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
 * Everything telemetry does around a served call, as one grpc-js interceptor:
 *
 * - metrics: started, messages, handled, latency with the trace id as exemplar;
 * - `x-trace-id` in the response headers, or in the trailers of a call that
 *   fails before sending headers, so a caller can go straight to the trace;
 * - one access line at info (service, method, status, duration, peer),
 *   written while the call's span is active, so it carries the trace id. The
 *   cause of a server error is logged separately, where it is caught.
 *
 * One layer rather than one each: every layer wraps every callback of every
 * call, which showed in CPU profiles (bench/), and the trace id is looked up
 * once. The server span is not active yet when the call starts, only from
 * the handler on, so the lookup waits for the response.
 */
export function serverTelemetryInterceptor(options: ServerTelemetryOptions): ServerInterceptor {
  const { logger, metrics } = options;
  return (method, call) => {
    const startedAt = process.hrtime.bigint();
    const recorder = metrics?.start(method);
    let traceId: string | undefined | typeof NOT_LOOKED_UP = NOT_LOOKED_UP;
    const traceIdOfCall = () => (traceId === NOT_LOOKED_UP ? (traceId = currentTraceId()) : traceId);
    let headersSent = false;
    let ended = false;

    const end = (code: number) => {
      if (ended) return;
      ended = true;
      recorder?.finish(code, traceIdOfCall());
      if (!logger.isLevelEnabled('info')) return;
      const { grpc_service: service, grpc_method: name } = grpcMethodLabels(method.path);
      logger.info(
        {
          rpc: { system: 'grpc', service, method: name, grpc: { status_code: code } },
          event: { duration: Number(process.hrtime.bigint() - startedAt) },
          client: { address: call.getPeer() },
        },
        `${method.path} ${grpcCodeName(code)}`,
      );
    };

    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message, nextMessage) => {
            recorder?.received();
            nextMessage(message);
          },
          onCancel: () => end(Code.CANCELLED),
        }),
      sendMetadata: (metadata, next) => {
        headersSent = true;
        const id = traceIdOfCall();
        if (id) metadata.set(TRACE_ID_METADATA_KEY, id);
        next(metadata);
      },
      sendMessage: (message, next) => {
        recorder?.sent();
        next(message);
      },
      sendStatus: (status, next) => {
        const id = traceIdOfCall();
        if (!headersSent && id && status.metadata) status.metadata.set(TRACE_ID_METADATA_KEY, id);
        end(status.code);
        next(status);
      },
    });
  };
}
