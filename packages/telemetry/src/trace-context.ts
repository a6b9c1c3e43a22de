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
