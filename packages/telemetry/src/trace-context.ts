import { ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js';
import { isSpanContextValid, trace, TraceFlags } from '@opentelemetry/api';

/** The trace id of the span active here, when it is sampled (so it can be found in Jaeger). */
export function currentTraceId(): string | undefined {
  const context = trace.getActiveSpan()?.spanContext();
  if (!context || !isSpanContextValid(context) || !(context.traceFlags & TraceFlags.SAMPLED)) return undefined;
  return context.traceId;
}

/** Exemplar labels linking a latency observation to its trace. */
export function traceExemplar(): Record<string, string> | undefined {
  const traceId = currentTraceId();
  return traceId ? { trace_id: traceId } : undefined;
}

export const TRACE_ID_METADATA_KEY = 'x-trace-id';

/**
 * Puts the call's trace id in the response metadata (`x-trace-id`), in the
 * headers, or in the trailers of a call that fails before sending headers,
 * so a caller can go straight to the trace in Jaeger.
 */
export const traceIdInterceptor: ServerInterceptor = (_method, call) => {
  let headersSent = false;
  return new ServerInterceptingCall(call, {
    sendMetadata: (metadata, next) => {
      headersSent = true;
      const traceId = currentTraceId();
      if (traceId) metadata.set(TRACE_ID_METADATA_KEY, traceId);
      next(metadata);
    },
    sendStatus: (status, next) => {
      const traceId = currentTraceId();
      if (!headersSent && traceId && status.metadata) status.metadata.set(TRACE_ID_METADATA_KEY, traceId);
      next(status);
    },
  });
};
