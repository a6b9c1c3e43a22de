import { SpanKind, SpanStatusCode, type Context, type SpanStatus } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { isServerFaultCode } from './server-faults';

const GRPC_SCOPE = '@opentelemetry/instrumentation-grpc';

/**
 * Brings the grpc instrumentation's server spans in line with the gRPC
 * semantic conventions, which mark a server span ERROR only for a server
 * fault (SERVER_FAULT_CODES), never for the caller's mistake: the
 * instrumentation marks every non-OK server status ERROR and names
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
      if (pendingError && (code === undefined || isServerFaultCode(Number(code)))) setStatus(pendingError);
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
