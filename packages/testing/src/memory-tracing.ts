/**
 * Import this first in a test file: tracing must be running before
 * @grpc/grpc-js and pg are loaded, so this file loads neither.
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing } from '@platform/telemetry/tracing';
import { setTimeout as sleep } from 'node:timers/promises';

export const exportedSpans = new InMemorySpanExporter();

startTracing({ serviceName: 'observability-test', serviceVersion: '0.0.0', environment: 'test', exporter: exportedSpans, exportImmediately: true });

/** Polls the exported spans until `accept` finds what it needs (spans end after the reply reaches the caller). */
export async function waitForSpans<T>(accept: (spans: ReadableSpan[]) => T | undefined, timeoutMs = 10_000): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const found = accept(exportedSpans.getFinishedSpans());
    if (found !== undefined) return found;
    if (Date.now() > giveUpAt) {
      const names = exportedSpans.getFinishedSpans().map((span) => `${span.name}(${span.spanContext().traceId.slice(0, 8)})`);
      throw new Error(`expected spans did not arrive; exported: ${names.join(', ')}`);
    }
    await sleep(20);
  }
}
