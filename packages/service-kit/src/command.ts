/**
 * What a small command-line program needs of the kit, without the rest of it
 * (gRPC, PostgreSQL, telemetry): reading its environment, stopping on a
 * signal, exiting with a clear message. `@platform/service-kit/command`.
 */
export { ConfigError, envVar, parseEnv } from './env';
export { onStopSignals } from './stop-signals';
export { isUsageError, runCommand, UsageError, type CommandOptions } from './usage-error';
