export { runTraffic, type Progress, type ScenarioChoice, type TrafficOptions } from './engine';
export { durationMs, parseOptions, type CliOptions } from './options';
export { LatencyHistogram, type LatencySummary } from './latency';
export { formatSummary } from './report';
export { Random } from './random';
export { Stats, type MethodSummary, type NotableCall, type Summary } from './stats';
