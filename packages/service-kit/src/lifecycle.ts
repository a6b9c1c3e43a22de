import { ConfigError, type LogLevel } from './config';
import { createLogger, type Logger } from './logger';

export interface Service {
  shutdown(): Promise<void>;
}

/**
 * Runs a service's main until SIGTERM or SIGINT, then shuts it down and exits
 * 0. A second signal exits at once. Start-up failures exit 1 with a clear
 * message (configuration errors without a stack trace).
 */
export function runUntilSignalled(main: () => Promise<Service>): void {
  main().then(
    (service) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          process.stderr.write(`${signal} again: exiting without waiting\n`);
          process.exit(1);
        }
        stopping = true;
        service.shutdown().then(
          () => process.exit(0),
          (error: unknown) => {
            process.stderr.write(`shutdown failed: ${String(error)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    },
    (error: unknown) => {
      const message = error instanceof ConfigError ? error.message : `start-up failed: ${(error as Error)?.stack ?? String(error)}`;
      process.stderr.write(`${message}\n`);
      process.exit(1);
    },
  );
}

export interface ServiceMain<Config extends { logLevel: LogLevel }> {
  /** The service name, on every log line. */
  name: string;
  /** Reads and validates the environment; throws ConfigError. */
  loadConfig(): Config;
  start(config: Config, logger: Logger): Promise<Service>;
}

/** The whole of a service's main.ts: configuration, logger, start, and shutdown on a signal. */
export function runService<Config extends { logLevel: LogLevel }>(main: ServiceMain<Config>): void {
  runUntilSignalled(async () => {
    const config = main.loadConfig();
    return main.start(config, createLogger({ name: main.name, level: config.logLevel }));
  });
}
