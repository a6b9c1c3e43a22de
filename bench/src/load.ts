import { LatencyHistogram } from '@platform/traffic-generator';
import { processCpuSeconds } from './infrastructure';

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
  /**
   * Server CPU time per successful call, in microseconds: what a call costs
   * the server whether or not the load generator kept it busy. Absent
   * without a server pid or /proc.
   */
  serverCpuUsPerCall?: number;
  /** Share of one core the load generator's process used: near 1, the client and not the server was the limit. */
  loadGeneratorCpu: number;
  /** What made the calls: this process's grpc-js client, or h2load. */
  generator: 'node' | 'h2load';
}

interface Measurement {
  /** The server process whose CPU time is charged to the calls. */
  serverPid?: number | undefined;
}

/** Rounded as every figure in the results is. */
export const thousandths = (value: number) => Math.round(value * 1000) / 1000;

/**
 * The server's CPU time (/proc) across a load: read when made and at
 * `stop()`, charged to the successful calls by `perCall`, which gives
 * nothing without a pid, /proc or a success.
 */
export function serverCpuMeter(serverPid: number | undefined): {
  stop(): void;
  perCall(ok: number): Pick<LoadResult, 'serverCpuUsPerCall'>;
} {
  const read = () => (serverPid === undefined ? undefined : processCpuSeconds(serverPid));
  const before = read();
  let after: number | undefined;
  return {
    stop: () => (after = read()),
    perCall: (ok) =>
      before !== undefined && after !== undefined && ok > 0 ? { serverCpuUsPerCall: thousandths(((after - before) * 1e6) / ok) } : {},
  };
}

/** Runs `load` and adds what it cost in CPU, on both sides. */
async function withCpu(serverPid: number | undefined, load: () => Promise<CallCounts>): Promise<LoadResult> {
  const server = serverCpuMeter(serverPid);
  const clientBefore = process.cpuUsage();
  const result = await load();
  const client = process.cpuUsage(clientBefore);
  server.stop();
  return {
    ...result,
    ...server.perCall(result.ok),
    loadGeneratorCpu: thousandths((client.user + client.system) / 1e6 / result.seconds),
    generator: 'node',
  };
}

/** What any load generator counted, before the CPU it cost is added. */
export type CallCounts = Omit<LoadResult, 'loadGeneratorCpu' | 'generator' | 'serverCpuUsPerCall'>;

export function summarise(latency: LatencyHistogram, ok: number, failed: number, seconds: number): CallCounts {
  const { p50Ms, p90Ms, p99Ms, maxMs } = latency.summary();
  return { ok, failed, seconds, throughput: ok / seconds, p50Ms, p90Ms, p99Ms, maxMs };
}

/**
 * Closed loop: `concurrency` workers each call again as soon as the previous
 * call returns, for `durationMs`. Measures the most the target can do.
 */
export function closedLoop(call: Call, options: { concurrency: number; durationMs: number } & Measurement): Promise<LoadResult> {
  return withCpu(options.serverPid, async () => {
    const h = new LatencyHistogram();
    let ok = 0;
    let failed = 0;
    const start = performance.now();
    const end = start + options.durationMs;
    const worker = async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await call();
          h.record((performance.now() - t0) * 1000);
          ok++;
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    return summarise(h, ok, failed, (performance.now() - start) / 1000);
  });
}

/**
 * Open loop at a fixed rate: calls start on schedule whatever the latency,
 * and latency is measured from the scheduled start, so a stall shows up in
 * the percentiles instead of slowing the arrivals (no coordinated omission).
 */
export function fixedRate(call: Call, options: { rate: number; durationMs: number } & Measurement): Promise<LoadResult> {
  return withCpu(options.serverPid, async () => {
    const h = new LatencyHistogram();
    let ok = 0;
    let failed = 0;
    const interval = 1000 / options.rate;
    const start = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i * interval < options.durationMs; i++) {
      const scheduled = start + i * interval;
      const wait = scheduled - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      // Late calls count from their schedule; a call started up to 1 ms early (not worth a timer) from its start.
      const from = Math.max(scheduled, performance.now());
      pending.push(
        call().then(
          () => {
            h.record((performance.now() - from) * 1000);
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
  });
}
