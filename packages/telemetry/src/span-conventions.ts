import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

const GRPC_SCOPE = '@opentelemetry/instrumentation-grpc';
const PREFIX = 'grpc.';

/**
 * Names the grpc instrumentation's client spans as the RPC semantic
 * conventions do, `<service>/<method>` (it names them
 * `grpc.<service>/<method>`), the same name as the server span they lead to.
 * Server spans are the platform's own (startServerSpan) and named so already.
 */
export class GrpcClientSpanNames implements SpanProcessor {
  onStart(span: Span, _parentContext: Context): void {
    if (span.instrumentationScope.name === GRPC_SCOPE && span.name.startsWith(PREFIX)) span.updateName(span.name.slice(PREFIX.length));
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
