import type { Pool } from 'pg';
import type { Logger, Telemetry } from '@platform/telemetry';
import type { Closer } from './closer';
import type { ServiceConfig } from './config';
import { FaultInjector } from './faults';
import { watchReachability } from './postgres';
import { RateLimiter } from './rate-limit';
import type { GrpcServer, GrpcServerOptions } from './server';

/**
 * The GrpcServer options every service derives the same way from its
 * configuration and telemetry; the service adds the protoFiles it serves.
 * What they open (the rate limiter's Redis connection) is registered with
 * `closer`, before the server, so it closes after the server has drained.
 */
export function grpcServerOptions(config: ServiceConfig, telemetry: Telemetry, closer: Closer): Omit<GrpcServerOptions, 'protoFiles'> {
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
    rateLimiter:
      config.rateLimit &&
      closer.add('rate limiter', new RateLimiter({ ...config.rateLimit, registry, logger }), (limiter) => limiter.close()),
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
}

export interface ServeOptions {
  server: GrpcServer;
  logger: Logger;
  /** Where the server's close (drain) is registered: after everything the handlers use, so it closes first. */
  closer: Closer;
  /** Health follows this pool's reachability; without one (in-memory storage) the service is SERVING at once. */
  pool?: Pool;
  /** How often the pool is probed for health. */
  healthProbeIntervalMs?: number;
}

/** Starts serving and ties health to the database; the closer drains the server when the service stops. */
export async function serve(options: ServeOptions): Promise<RunningService> {
  const { server, pool, logger, closer } = options;
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
  closer.add('gRPC server', server, async (running) => {
    stopWatching();
    await running.close();
  });
  return { port, adminPort: server.adminPort };
}
