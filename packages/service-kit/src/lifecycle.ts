import { constants } from 'node:os';
import { shutdownTracing, Telemetry } from '@platform/telemetry';
import { ConfigError, type ServiceConfig } from './config';

export interface Service {
  shutdown(): Promise<void>;
}

/**
 * Calls `stop` on the first SIGTERM or SIGINT, for a graceful stop; a second
 * one exits at once, with 128 + the signal's number as a shell reports it
 * (130 after Ctrl-C), for whoever will not wait.
 */
export function onStopSignals(stop: (signal: NodeJS.Signals) => void): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without waiting\n`);
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
    stopping = true;
    stop(signal);
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}

/**
 * Runs a service's main until SIGTERM or SIGINT, then shuts it down and exits
 * 0. A signal during start-up stops the service as soon as it has started
 * (rather than killing it half-way, as Node's default would). A second signal
 * exits at once. Start-up failures exit 1 with a clear message (configuration
 * errors without a stack trace).
 */
export function runUntilSignalled(main: () => Promise<Service>): void {
  let stopping = false;
  let started: Service | undefined;
  const shutdown = (service: Service) =>
    service.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  onStopSignals(() => {
    stopping = true;
    if (started) void shutdown(started);
  });
  main().then(
    (service) => {
      started = service;
      if (stopping) void shutdown(service);
    },
    (error: unknown) => {
      const message = error instanceof ConfigError ? error.message : `start-up failed: ${(error as Error)?.stack ?? String(error)}`;
      process.stderr.write(`${message}\n`);
      process.exit(1);
    },
  );
}

export interface ServiceMain<Config extends ServiceConfig> {
  /** service.name, on every log line and metric. */
  name: string;
  /** Reads and validates the environment; throws ConfigError. */
  loadConfig(): Config;
  start(config: Config, telemetry: Telemetry): Promise<Service>;
}

/**
 * The whole of a service's main.ts: configuration, telemetry, start, and on a
 * signal the service's shutdown, then the spans' flush, then telemetry's
 * (logs and metrics last, so the last words are reported).
 */
export function runService<Config extends ServiceConfig>(main: ServiceMain<Config>): void {
  runUntilSignalled(async () => {
    const config = main.loadConfig();
    const telemetry = await Telemetry.start({
      serviceName: main.name,
      metricsPort: config.metricsPort,
      metricsHost: config.metricsHost,
      logLevel: config.logLevel,
      elasticsearch: config.elasticsearch,
      grpcMetrics: config.grpcMetrics,
    });
    const service = await main.start(config, telemetry);
    return {
      shutdown: async () => {
        await service.shutdown();
        // One budget for both, so that a stop ends in time whatever the backends do.
        const flushBy = Date.now() + config.telemetryFlushTimeoutMs;
        // Spans first, so that a failure to flush them is still logged and shipped.
        const spans = await withinBudget(shutdownTracing(), flushBy);
        if (spans !== 'flushed') {
          telemetry.logger.warn(
            { err: spans === 'late' ? undefined : spans, flushTimeoutMs: config.telemetryFlushTimeoutMs },
            spans === 'late' ? 'spans not exported within the flush budget are dropped' : 'could not flush spans',
          );
        }
        await telemetry.shutdown({ flushTimeoutMs: Math.max(0, flushBy - Date.now()) });
      },
    };
  });
}

/** 'flushed', 'late' once `deadline` (epoch ms) passes, or the error it failed with. */
async function withinBudget(work: Promise<void>, deadline: number): Promise<'flushed' | 'late' | Error> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([
      work.then(
        () => 'flushed' as const,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
