import { build, type Histogram } from 'hdr-histogram-js';

export interface LatencySummary {
  minMs: number;
  avgMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Call latencies in an HDR histogram: microseconds, three significant
 * digits, up to an hour. The one way the traffic generator and the
 * benchmark record and summarise latency.
 */
export class LatencyHistogram {
  readonly #histogram: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });

  /** One call's latency, in microseconds (at least 1). */
  record(micros: number): void {
    this.#histogram.recordValue(Math.max(1, Math.round(micros)));
  }

  get count(): number {
    return this.#histogram.totalCount;
  }

  /** Milliseconds, to the microsecond. */
  summary(): LatencySummary {
    const h = this.#histogram;
    const ms = (micros: number) => Math.round(micros) / 1000;
    return {
      minMs: ms(h.minNonZeroValue),
      avgMs: ms(h.mean),
      p50Ms: ms(h.getValueAtPercentile(50)),
      p90Ms: ms(h.getValueAtPercentile(90)),
      p95Ms: ms(h.getValueAtPercentile(95)),
      p99Ms: ms(h.getValueAtPercentile(99)),
      maxMs: ms(h.maxValue),
    };
  }
}
