export { runTraffic, type Progress, type ScenarioChoice, type TrafficOptions } from './engine';
export { durationMs, parseOptions, type CliOptions } from './options';
export { formatSummary } from './report';
export { Random } from './random';
export { Stats, type MethodSummary, type NotableCall, type Summary } from './stats';
