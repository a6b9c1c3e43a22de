import { closeTracing, Telemetry } from '@platform/telemetry';
import { Closer } from './closer';
import type { ServiceConfig } from './config';
import type { RunningService } from './serve';
import { onStopSignals } from './stop-signals';
import { isUsageError } from './usage-error';

/**
 * Runs `start` until SIGTERM or SIGINT, then closes what it registered with
 * the closer, newest first, and exits 0. A signal during start-up closes the
 * service as soon as it has started (rather than killing it half-way, as
 * Node's default would). A second signal exits at once. Start-up failures
 * exit 1 with a clear message (usage and configuration errors without a stack trace).
 */
export function runUntilSignalled(start: (closer: Closer) => Promise<unknown>): void {
  const closer = new Closer();
  let stopping = false;
  let started = false;
  const close = () =>
    closer.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  onStopSignals(() => {
    stopping = true;
    if (started) void close();
  });
  start(closer).then(
    () => {
      started = true;
      if (stopping) void close();
    },
    (error: unknown) => {
      const message = isUsageError(error) ? error.message : `start-up failed: ${(error as Error)?.stack ?? String(error)}`;
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
  /** Opens what the service uses, registering each close with `closer`, and starts serving. */
  start(config: Config, telemetry: Telemetry, closer: Closer): Promise<RunningService>;
}

/**
 * The whole of a service's main.ts: configuration, telemetry, start; on a
 * signal, the service's resources close (its server drains first), then the
 * spans are flushed, then the logs and metrics (last, so that the last words
 * are reported), all of telemetry within one flush budget.
 */
export function runService<Config extends ServiceConfig>(main: ServiceMain<Config>): void {
  runUntilSignalled(async (closer) => {
    const config = main.loadConfig();
    // When the spans' flush begins: telemetry's own flush gets what is left of the same budget.
    let flushBy = Infinity;
    const telemetry = closer.add(
      'telemetry',
      await Telemetry.start({
        serviceName: main.name,
        metricsPort: config.metricsPort,
        metricsHost: config.metricsHost,
        logLevel: config.logLevel,
        elasticsearch: config.elasticsearch,
        grpcMetrics: config.grpcMetrics,
      }),
      (opened) => opened.close({ flushTimeoutMs: Math.max(0, flushBy - Date.now()) }),
    );
    // Spans before logs, so that a failure to flush them is still logged and shipped.
    closer.add('tracing', telemetry.logger, async (logger) => {
      flushBy = Date.now() + config.telemetryFlushTimeoutMs;
      const spans = await withinBudget(closeTracing(), flushBy);
      if (spans !== 'flushed') {
        logger.warn(
          { err: spans === 'late' ? undefined : spans, flushTimeoutMs: config.telemetryFlushTimeoutMs },
          spans === 'late' ? 'spans not exported within the flush budget are dropped' : 'could not flush spans',
        );
      }
    });
    closer.add('the last log line', telemetry.logger, (logger) => logger.info('service stopped'));
    await main.start(config, telemetry, closer);
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
