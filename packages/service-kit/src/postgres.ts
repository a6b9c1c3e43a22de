import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Pool, escapeIdentifier, type DatabaseError, type PoolClient, type QueryConfig } from 'pg';
import { registerPoolMetrics, type Logger, type MetricsRegistry } from '@platform/telemetry';
import type { ServiceConfig } from './config';
import { isDependencyUnavailable } from './unavailable';

export interface PostgresOptions {
  /** postgres://user:password@host:port/database; the database is created when missing. */
  url: string;
  /** Folder of node-pg-migrate SQL migrations, applied in order at start-up. */
  migrationsDir: string;
  logger: Logger;
  /** Shown in pg_stat_activity, so a DBA can tell the services apart. */
  applicationName: string;
  /** How long start-up keeps retrying an unreachable server before giving up. */
  connectTimeoutMs: number;
  /** How long a query waits for a connection of the pool (all busy, or the server slow to accept one). */
  acquireTimeoutMs: number;
  /** How long a statement may run on the server. */
  statementTimeoutMs: number;
  poolSize?: number;
}

/**
 * How much longer than a statement may run the client waits for any answer.
 * The server cancels a slow statement itself (57014) at statementTimeoutMs; a
 * server that answers nothing at all (hung, or cut off without a reset) is
 * given up on this much later, and its connection is discarded.
 */
const NO_ANSWER_MARGIN_MS = 1000;

/** Waits for the server, creates the database if needed, migrates it and returns a pool. */
export async function openPostgres(options: PostgresOptions): Promise<Pool> {
  const { url, logger } = options;
  await retryWhileUnreachable(() => ensureDatabase(url), options);
  await migrate(options);
  const pool = new Pool({
    connectionString: url,
    application_name: options.applicationName,
    max: options.poolSize ?? 10,
    // Without it a query waits for a connection for as long as the pool stays busy, long after its caller has gone.
    connectionTimeoutMillis: options.acquireTimeoutMs,
    // Lock waits included: a statement stuck behind another session's lock is cancelled too.
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.statementTimeoutMs + NO_ANSWER_MARGIN_MS,
    // An idle connection to a host that vanished is found by TCP keepalive rather than by the next call.
    keepAlive: true,
  });
  // Without a listener an idle client's network error would crash the process.
  pool.on('error', (error) => logger.error({ err: error }, 'idle PostgreSQL connection failed'));
  return pool;
}

/**
 * PostgreSQL as configured by DATABASE_URL, migrated; undefined when it is
 * unset, after warning that the service keeps its data in memory.
 */
export async function openConfiguredPostgres(
  config: Pick<ServiceConfig, 'databaseUrl' | 'databaseConnectTimeoutMs' | 'databaseAcquireTimeoutMs' | 'databaseStatementTimeoutMs'>,
  options: { serviceName: string; migrationsDir: string; logger: Logger; registry: MetricsRegistry },
): Promise<Pool | undefined> {
  if (!config.databaseUrl) {
    options.logger.warn('DATABASE_URL is not set: data is kept in memory and lost on restart');
    return undefined;
  }
  const pool = await openPostgres({
    url: config.databaseUrl,
    migrationsDir: options.migrationsDir,
    logger: options.logger,
    applicationName: options.serviceName,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    acquireTimeoutMs: config.databaseAcquireTimeoutMs,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
    poolSize: POOL_SIZE,
  });
  registerPoolMetrics(options.registry, pool, POOL_SIZE);
  return pool;
}

const POOL_SIZE = 10;

/** Creates the URL's database when it does not exist (the server's `postgres` database is used for that). */
export async function ensureDatabase(url: string): Promise<void> {
  try {
    await withClient(url, async () => undefined);
    return;
  } catch (error) {
    if (pgCode(error) !== INVALID_CATALOG_NAME) throw error;
  }
  const target = new URL(url);
  const database = decodeURIComponent(target.pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  await withClient(maintenance.toString(), async (client) => {
    try {
      await client.query(`CREATE DATABASE ${escapeIdentifier(database)}`);
    } catch (error) {
      // Another replica created it first.
      if (pgCode(error) !== DUPLICATE_DATABASE && pgCode(error) !== UNIQUE_VIOLATION) throw error;
    }
  });
}

/** Drops a database (test clean-up); connections still open to it are terminated. */
export async function dropDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const database = decodeURIComponent(target.pathname.slice(1));
  target.pathname = '/postgres';
  await withClient(target.toString(), (client) => client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(database)} WITH (FORCE)`));
}

async function migrate(options: PostgresOptions): Promise<void> {
  // node-pg-migrate is published as ES modules only.
  const { runner } = await import('node-pg-migrate');
  const log = options.logger.child({ component: 'migrations' });
  const applied = await runner({
    databaseUrl: options.url,
    dir: options.migrationsDir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    singleTransaction: true,
    // Replicas starting together take turns instead of failing.
    advisoryLockMode: 'wait',
    logger: {
      debug: (message: string) => log.debug(message),
      info: (message: string) => log.debug(message),
      warn: (message: string) => log.warn(message),
      error: (message: string) => log.error(message),
    },
  });
  log.info({ applied: applied.map((migration) => migration.name) }, 'database schema up to date');
}

async function retryWhileUnreachable(attempt: () => Promise<void>, options: PostgresOptions): Promise<void> {
  const giveUpAt = Date.now() + options.connectTimeoutMs;
  for (let delayMs = 100; ; delayMs = Math.min(delayMs * 2, 2000)) {
    try {
      return await attempt();
    } catch (error) {
      if (!isDependencyUnavailable(error) || Date.now() + delayMs > giveUpAt) throw error;
      options.logger.warn({ err: error, retryInMs: delayMs }, 'PostgreSQL not reachable yet');
      await sleep(delayMs);
    }
  }
}

/**
 * Calls onChange whenever a `SELECT 1` through the pool starts or stops
 * succeeding; resolves after the first probe, so health is right from the start.
 * A probe that has no answer by the time the next one is due counts as a
 * failure: a server that accepts connections but answers nothing is unreachable.
 */
export async function watchReachability(
  pool: Pool,
  options: { intervalMs: number; onChange: (reachable: boolean) => void },
): Promise<() => void> {
  let last: boolean | undefined;
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    const reachable = await pool.query(probe(options.intervalMs)).then(
      () => true,
      () => false,
    );
    running = false;
    if (reachable !== last) options.onChange(reachable);
    last = reachable;
  };
  await check();
  const timer = setInterval(() => void check(), options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Runs `work` in a transaction on one client of the pool. A connection lost
 * while the client is held, even between two queries, fails the work (the
 * error reaches the caller, and the client is discarded) instead of being an
 * unhandled 'error' event that ends the process: pg-pool listens for errors
 * on idle clients only.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (error: Error) => (lost ??= error);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A client whose server stopped answering may still have a query on the wire: it is never reused. A statement
    // the server cancelled (57014) leaves a sound connection, rolled back like any failed work.
    if (lost === undefined && isDependencyUnavailable(error) && pgCode(error) !== QUERY_CANCELED) lost = error as Error;
    if (lost === undefined) await client.query('ROLLBACK').catch(() => undefined);
    throw lost ?? error;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}

/** node-postgres honours a per-query query_timeout that its type definitions do not list. */
function probe(timeoutMs: number): QueryConfig {
  return { text: 'SELECT 1', query_timeout: timeoutMs } as QueryConfig;
}

async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

const INVALID_CATALOG_NAME = '3D000';
const DUPLICATE_DATABASE = '42P04';
const UNIQUE_VIOLATION = '23505';
const QUERY_CANCELED = '57014';

export function pgCode(error: unknown): string | undefined {
  return (error as Partial<DatabaseError> | undefined)?.code;
}
