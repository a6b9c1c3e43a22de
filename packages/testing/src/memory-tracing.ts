/**
 * Import this first in a test file: tracing must be running before
 * @grpc/grpc-js and pg are loaded, so this file loads neither.
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing } from '@platform/telemetry/tracing';
import { eventually } from './eventually';

export const exportedSpans = new InMemorySpanExporter();

startTracing({
  serviceName: 'observability-test',
  serviceVersion: '0.0.0',
  environment: 'test',
  exporter: exportedSpans,
  exportImmediately: true,
});

/** Polls the exported spans until `accept` finds what it needs (spans end after the reply reaches the caller). */
export function waitForSpans<T>(accept: (spans: ReadableSpan[]) => T | undefined, timeoutMs = 10_000): Promise<T> {
  return eventually(() => accept(exportedSpans.getFinishedSpans()), {
    timeoutMs,
    intervalMs: 20,
    failure: () => {
      const names = exportedSpans.getFinishedSpans().map((span) => `${span.name}(${span.spanContext().traceId.slice(0, 8)})`);
      return `expected spans did not arrive; exported: ${names.join(', ')}`;
    },
  });
}
