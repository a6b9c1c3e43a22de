import type { Pool } from 'pg';
import type { Logger, Telemetry } from '@platform/telemetry';
import type { Closer } from './closer';
import type { ServiceConfig } from './config';
import { FaultInjection } from './fault-injection/feature';
import { serverFeatures } from './features';
import { watchReachability } from './postgres';
import type { GrpcServer, GrpcServerOptions } from './grpc-server';

/**
 * The GrpcServer options every service derives the same way from its
 * configuration and telemetry; the service adds the protoFiles it serves.
 * What its features open (the rate limiter's Redis connection) is registered
 * with `closer` before the server, so it closes after the server has drained.
 */
export function grpcServerOptions(config: ServiceConfig, telemetry: Telemetry, closer: Closer): Omit<GrpcServerOptions, 'protoFiles'> {
  const { logger } = telemetry;
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
    features: serverFeatures(config, telemetry, closer),
    web: config.web && { ...config.web, observe: (method, peer, protocol) => telemetry.observeServerCall(method, peer, protocol) },
  };
}

export interface RunningService {
  readonly port: number;
  /** The fault admin listener's port, when fault injection is on. */
  readonly adminPort?: number | undefined;
  /** The web endpoint's port (gRPC-Web, Connect), when it is on. */
  readonly webPort?: number | undefined;
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
  const faultInjection = server.features.find((feature) => feature instanceof FaultInjection);
  return { port, adminPort: faultInjection?.adminPort, webPort: server.webPort };
}
