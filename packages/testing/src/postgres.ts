import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** A PostgreSQL server for tests and where it came from (printed, so a run says what it tested against). */
export interface PostgresServer {
  /** postgres:// URL of the server's `postgres` database. */
  readonly url: string;
  readonly source: 'DATABASE_URL' | 'testcontainers' | 'local';
  stop(): Promise<void>;
}

const LOCAL_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

let shared: Promise<PostgresServer> | undefined;

/**
 * The server tests run against, chosen once per process: DATABASE_URL if set;
 * else a Testcontainers PostgreSQL when a Docker engine answers; else the
 * local server on 127.0.0.1:5432. If none is reachable this fails with a
 * message that says what was tried; it never skips.
 */
export function postgresServer(): Promise<PostgresServer> {
  shared ??= findServer().then((server) => {
    process.stderr.write(`# PostgreSQL for these tests: ${server.source} (${redact(server.url)})\n`);
    return server;
  });
  return shared;
}

async function findServer(): Promise<PostgresServer> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    const url = withDatabase(fromEnv, 'postgres');
    await assertReachable(url, 'DATABASE_URL');
    return { url, source: 'DATABASE_URL', stop: async () => undefined };
  }
  const container = await startContainerIfDockerAnswers();
  if (container) return container;
  await assertReachable(LOCAL_URL, 'the local server (no DATABASE_URL and no Docker engine)');
  return { url: LOCAL_URL, source: 'local', stop: async () => undefined };
}

async function startContainerIfDockerAnswers(): Promise<PostgresServer | undefined> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch {
    return undefined;
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:17-alpine').start();
  return {
    url: withDatabase(container.getConnectionUri(), 'postgres'),
    source: 'testcontainers',
    stop: async () => {
      await container.stop();
    },
  };
}

async function assertReachable(url: string, what: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `PostgreSQL is required for these tests and ${what} at ${redact(url)} is not reachable: ${(error as Error).message}. ` +
        'Set DATABASE_URL, start a Docker engine, or run PostgreSQL on 127.0.0.1:5432.',
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A URL for a database of this run that does not exist yet: the service under test creates it. */
export async function freshDatabaseUrl(prefix: string): Promise<string> {
  const server = await postgresServer();
  return withDatabase(server.url, `${prefix}_test_${randomBytes(6).toString('hex')}`);
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
