import { SpanKind, SpanStatusCode, type Context, type SpanStatus } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

const GRPC_SCOPE = '@opentelemetry/instrumentation-grpc';

/**
 * Codes that are the server's fault. The gRPC semantic conventions mark a
 * server span ERROR only for these; a caller's mistake (INVALID_ARGUMENT,
 * NOT_FOUND ...) is not a server error.
 */
const SERVER_FAULT_CODES = new Set([2, 4, 12, 13, 14, 15]);

/**
 * Brings the grpc instrumentation's server spans in line with the gRPC
 * semantic conventions: it marks every non-OK server status ERROR and names
 * spans `grpc.<service>/<method>` instead of `<service>/<method>`. A processor cannot change a span once it has
 * ended, so the corrections are installed when the span starts.
 */
export class GrpcServerSpanConventions implements SpanProcessor {
  onStart(span: Span, _parentContext: Context): void {
    if (span.instrumentationScope.name !== GRPC_SCOPE) return;
    if (span.name.startsWith('grpc.')) span.updateName(span.name.slice('grpc.'.length));
    if (span.kind !== SpanKind.SERVER) return;
    const setStatus = span.setStatus.bind(span);
    const end = span.end.bind(span);
    let pendingError: SpanStatus | undefined;
    span.setStatus = (status: SpanStatus) => {
      if (status.code !== SpanStatusCode.ERROR) return setStatus(status);
      pendingError = status;
      return span;
    };
    span.end = (endTime) => {
      const code = span.attributes['rpc.grpc.status_code'];
      if (pendingError && (code === undefined || SERVER_FAULT_CODES.has(Number(code)))) setStatus(pendingError);
      end(endTime);
    };
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
