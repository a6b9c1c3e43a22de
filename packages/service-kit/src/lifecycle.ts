import { ConfigError, type ServiceConfig } from './config';
import { shutdownTracing, Telemetry } from '@platform/telemetry';

export interface Service {
  shutdown(): Promise<void>;
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
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without waiting\n`);
      process.exit(1);
    }
    stopping = true;
    if (started) void shutdown(started);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
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
        // Spans first, so that a failure to flush them is still logged and shipped.
        await shutdownTracing().catch((error: unknown) => telemetry.logger.warn({ err: error }, 'could not flush spans'));
        await telemetry.shutdown();
      },
    };
  });
}
