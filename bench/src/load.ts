import { build, type Histogram } from 'hdr-histogram-js';

/** One call of the benchmarked operation; rejects on failure. */
export type Call = () => Promise<unknown>;

export interface LoadResult {
  /** Calls that succeeded. */
  ok: number;
  failed: number;
  seconds: number;
  /** Successful calls per second. */
  throughput: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

function histogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

function summarise(h: Histogram, ok: number, failed: number, seconds: number): LoadResult {
  const ms = (micros: number) => Math.round(micros) / 1000;
  return {
    ok,
    failed,
    seconds,
    throughput: ok / seconds,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    maxMs: ms(h.maxValue),
  };
}

/**
 * Closed loop: `concurrency` workers each call again as soon as the previous
 * call returns, for `durationMs`. Measures the most the target can do.
 */
export async function closedLoop(call: Call, options: { concurrency: number; durationMs: number }): Promise<LoadResult> {
  const h = histogram();
  let ok = 0;
  let failed = 0;
  const start = performance.now();
  const end = start + options.durationMs;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await call();
        h.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        ok++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return summarise(h, ok, failed, (performance.now() - start) / 1000);
}

/**
 * Open loop at a fixed rate: calls start on schedule whatever the latency,
 * and latency is measured from the scheduled start, so a stall shows up in
 * the percentiles instead of slowing the arrivals (no coordinated omission).
 */
export async function fixedRate(call: Call, options: { rate: number; durationMs: number }): Promise<LoadResult> {
  const h = histogram();
  let ok = 0;
  let failed = 0;
  const interval = 1000 / options.rate;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i * interval < options.durationMs; i++) {
    const scheduled = start + i * interval;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(
      call().then(
        () => {
          h.recordValue(Math.max(1, Math.round((performance.now() - scheduled) * 1000)));
          ok++;
        },
        () => {
          failed++;
        },
      ),
    );
  }
  await Promise.all(pending);
  return summarise(h, ok, failed, (performance.now() - start) / 1000);
}
