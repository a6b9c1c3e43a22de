import type { LoadResult } from './load';
import type { RatioSummary } from './stats';

/** What npm run bench measures and writes (results/latest.json), and what report.ts formats. */
export interface BenchResults {
  machine: { cpu: string; cores: number; pinned: boolean };
  node: string;
  date: string;
  command: string;
  rounds: number;
  secondsPerMeasurement: number;
  observabilityTax: Record<string, TaxEntry> & { baselineMaxThroughput?: number; baselineServerCpuUsPerCall?: number };
  grpcVersusJson: Record<
    string,
    {
      grpcBytesPerCall: number;
      jsonBytesPerCall: number;
      bytesRatio: number;
      throughputRatio: RatioSummary;
      p50Ratio: RatioSummary;
      p99Ratio: RatioSummary;
    }
  >;
  scrapeImpact: { p99Ratio: RatioSummary; p50Ratio: RatioSummary };
  /** Elasticsearch accepting connections and never answering, against one that answers: what the request path pays. */
  stuckLogBackend: {
    p50Ratio: RatioSummary;
    p99Ratio: RatioSummary;
    maxRatio: RatioSummary;
    linesDropped: number;
    secondsPerMeasurement: number;
  };
  /** The full service against the bare server, by the full service's telemetry settings. */
  frameworkOverhead: Record<string, { throughputRatio: RatioSummary; cpuCapacityRatio?: RatioSummary | undefined }>;
  raw: Record<string, LoadResult[]>;
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
