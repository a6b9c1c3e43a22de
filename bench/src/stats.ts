/** Median and spread of one ratio over the rounds of an A/B comparison. */
export interface RatioSummary {
  median: number;
  min: number;
  max: number;
  rounds: number[];
}

export function ratioSummary(values: number[]): RatioSummary {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return { median: round(median), min: round(sorted[0]!), max: round(sorted[sorted.length - 1]!), rounds: values.map(round) };
}

/** The summary of what was measured; undefined when nothing was (server CPU needs /proc). */
export function ratioSummaryIfAny(values: number[]): RatioSummary | undefined {
  return values.length > 0 ? ratioSummary(values) : undefined;
}

/** `median (min–max)`, as every report table shows a ratio; n/a when it was not measured. */
export function formatRatio(summary: RatioSummary | undefined): string {
  return summary === undefined ? 'n/a' : `${summary.median.toFixed(3)} (${summary.min.toFixed(3)}–${summary.max.toFixed(3)})`;
}
