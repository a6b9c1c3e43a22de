import { Gauge } from 'prom-client';
import type { MetricsRegistry } from './metrics';

/** What a node-postgres Pool reports about itself. */
export interface PoolStats {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

/** Connection pool gauges, read at scrape time. */
export function registerPoolMetrics(registry: MetricsRegistry, pool: PoolStats, maxConnections: number): void {
  new Gauge({
    name: 'pg_pool_connections',
    help: 'PostgreSQL connections held by the pool, by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'used' }, pool.totalCount - pool.idleCount);
    },
  });
  new Gauge({
    name: 'pg_pool_max_connections',
    help: 'The most connections the pool opens.',
    registers: [registry],
    collect() {
      this.set(maxConnections);
    },
  });
  new Gauge({
    name: 'pg_pool_waiting_requests',
    help: 'Queries waiting for a free pool connection; above zero the pool is the bottleneck.',
    registers: [registry],
    collect() {
      this.set(pool.waitingCount);
    },
  });
}
