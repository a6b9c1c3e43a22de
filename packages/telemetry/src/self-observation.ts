import { createNoopMeter, type Attributes, type Meter, type MeterProvider } from '@opentelemetry/api';

/** One counted outcome of the span pipeline, e.g. spans exported, or dropped because the queue was full. */
export interface PipelineCount {
  /** The SDK's metric name, e.g. otel.sdk.exporter.span.exported. */
  name: string;
  /** error.type: '' for success, 'queue_full', or the export error's name. */
  errorType: string;
  value: number;
}

/**
 * Receives the SDK's own span-pipeline counters (the experimental
 * `selfObsMeterProvider` of the batch processor and the OTLP exporter) and
 * keeps them until the service's Prometheus registry reads them. Tracing
 * starts in the preload, long before that registry exists.
 */
export class SelfObservation implements MeterProvider {
  private readonly counts = new Map<string, PipelineCount>();

  getMeter(): Meter {
    // createNoopMeter returns a shared object: derive from it, never change it.
    const meter = Object.create(createNoopMeter()) as Meter;
    meter.createCounter = ((name: string) => ({
      add: (value: number, attributes: Attributes = {}) => this.add(name, String(attributes['error.type'] ?? ''), value),
    })) as Meter['createCounter'];
    return meter;
  }

  snapshot(): PipelineCount[] {
    return [...this.counts.values()].map((count) => ({ ...count }));
  }

  private add(name: string, errorType: string, value: number): void {
    const key = `${name}\u0000${errorType}`;
    const count = this.counts.get(key) ?? { name, errorType, value: 0 };
    count.value += value;
    this.counts.set(key, count);
  }
}
