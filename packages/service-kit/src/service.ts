import type { Pool } from 'pg';
import type { Logger, Telemetry } from '@platform/telemetry';
import type { ServiceConfig } from './config';
import { FaultInjector } from './faults';
import { watchReachability } from './postgres';
import { RateLimiter } from './rate-limit';
import type { GrpcServer, GrpcServerOptions } from './server';

/**
 * The GrpcServer options every service derives the same way from its
 * configuration and telemetry; the service adds the protoFiles it serves.
 */
export function grpcServerOptions(config: ServiceConfig, telemetry: Telemetry): Omit<GrpcServerOptions, 'protoFiles'> {
  const { logger, registry } = telemetry;
  return {
    host: config.grpcHost,
    port: config.grpcPort,
    logger,
    shutdownGraceMs: config.shutdownGraceMs,
    drainDelayMs: config.shutdownDrainDelayMs,
    maxMessageBytes: config.grpcMaxMessageBytes,
    maxReceiveMessageBytes: config.grpcMaxReceiveMessageBytes,
    maxConnectionAgeMs: config.grpcMaxConnectionAgeMs,
    maxConnectionAgeGraceMs: config.grpcMaxConnectionAgeGraceMs,
    maxConnectionIdleMs: config.grpcMaxConnectionIdleMs,
    requestReceiveTimeoutMs: config.grpcRequestReceiveTimeoutMs,
    tls: config.tls,
    interceptors: telemetry.serverInterceptors,
    rateLimiter: config.rateLimit && new RateLimiter({ ...config.rateLimit, registry, logger }),
    faults: config.faultInjection && {
      injector: new FaultInjector({ registry, faults: config.faultInjection.faults }),
      admin: { host: config.faultInjection.adminHost, port: config.faultInjection.adminPort },
    },
  };
}

export interface RunningService {
  readonly port: number;
  /** The fault admin listener's port, when fault injection is on. */
  readonly adminPort?: number | undefined;
  shutdown(): Promise<void>;
}

export interface ServeOptions {
  server: GrpcServer;
  logger: Logger;
  /** Health follows this pool's reachability; without one (in-memory storage) the service is SERVING at once. */
  pool?: Pool;
  /** How often the pool is probed for health. */
  healthProbeIntervalMs?: number;
  /** Released after the server has drained, before the pool closes. */
  onShutdown?: () => Promise<void>;
}

/** Starts serving and ties health to the database; shutdown drains calls, then releases resources. */
export async function serve(options: ServeOptions): Promise<RunningService> {
  const { server, pool, logger } = options;
  const port = await server.start();
  const stopWatching = pool
    ? await watchReachability(pool, {
        intervalMs: options.healthProbeIntervalMs ?? 5000,
        onChange: (reachable) => {
          logger[reachable ? 'info' : 'error']({ reachable }, 'PostgreSQL reachability changed');
          server.setServing(reachable);
        },
      })
    : (server.setServing(true), () => undefined);
  let stopped: Promise<void> | undefined;
  const stop = async () => {
    stopWatching();
    await server.shutdown();
    await options.onShutdown?.();
    await pool?.end();
    logger.info('service stopped');
  };
  return { port, adminPort: server.adminPort, shutdown: () => (stopped ??= stop()) };
}
