import type { Piece } from './breakdown';
import type { LoadResult } from './load';
import type { RatioSummary } from './stats';
import type { Generator } from './user-service';

/** Keyed by runtime label (`Node 24.16.0`): every table has a column per Node.js version. */
export type ByRuntime<T> = Record<string, T>;

/** What npm run bench measures and writes (results/latest.json), and what report.ts formats. */
export interface BenchResults {
  machine: { cpu: string; cores: number; pinned: boolean };
  /** The Node.js running the harness and the Node.js client. */
  node: string;
  /** The Node.js versions the servers ran on, in column order. */
  runtimes: string[];
  generators: Generator[];
  date: string;
  command: string;
  rounds: number;
  secondsPerMeasurement: number;
  /** GetUser, by runtime and load generator. */
  observabilityTax: ByRuntime<Partial<Record<Generator, TaxTable>>>;
  grpcVersusJson: ByRuntime<
    Record<
      string,
      {
        grpcBytesPerCall: number;
        jsonBytesPerCall: number;
        bytesRatio: number;
        throughputRatio: RatioSummary;
        p50Ratio: RatioSummary;
        p99Ratio: RatioSummary;
      }
    >
  >;
  scrapeImpact: ByRuntime<{ p99Ratio: RatioSummary; p50Ratio: RatioSummary }>;
  /** Elasticsearch accepting connections and never answering, against one that answers: what the request path pays. */
  stuckLogBackend: ByRuntime<{
    p50Ratio: RatioSummary;
    p99Ratio: RatioSummary;
    maxRatio: RatioSummary;
    linesDropped: number;
    secondsPerMeasurement: number;
  }>;
  /** The full service against the bare server, by runtime, generator and the full service's telemetry settings. */
  frameworkOverhead: ByRuntime<Partial<Record<Generator, FrameworkTable>>>;
  /** What each piece of telemetry costs one call, in CPU microseconds, by runtime (breakdown.ts). */
  breakdown: ByRuntime<Piece[]>;
  raw: Record<string, LoadResult[]>;
}

export interface TaxTable {
  /** Telemetry off: calls per second at saturation. */
  baselineMaxThroughput: number;
  baselineServerCpuUsPerCall?: number | undefined;
  entries: Record<string, TaxEntry>;
}

export interface TaxEntry {
  maxThroughput: RatioSummary;
  /**
   * Server CPU per call with telemetry off ÷ with this telemetry: the share
   * of its capacity a saturated server keeps. Unlike maxThroughput it does
   * not depend on whether the load generator kept the server busy.
   */
  cpuCapacity?: RatioSummary | undefined;
  serverCpuUsPerCall?: number | undefined;
  p50AtHalfLoad: RatioSummary;
  p99AtHalfLoad: RatioSummary;
}

export interface FrameworkTable {
  /** The bare grpc-js server's CPU per call: the floor. */
  bareServerCpuUsPerCall?: number | undefined;
  entries: Record<string, { throughputRatio: RatioSummary; cpuCapacityRatio?: RatioSummary | undefined }>;
}
