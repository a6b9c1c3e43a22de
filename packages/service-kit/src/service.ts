import type { Pool } from 'pg';
import type { Logger } from '@platform/telemetry';
import { watchReachability } from './postgres';
import type { GrpcServer } from './server';

export interface RunningService {
  readonly port: number;
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
  return { port, shutdown: () => (stopped ??= stop()) };
}
