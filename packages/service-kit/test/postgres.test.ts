import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Pool, type PoolClient } from 'pg';
import { createLogger } from '@platform/telemetry';
import { freshDatabaseUrl, postgresServer } from '@platform/testing';
import { Code, dropDatabase, inTransaction, isDependencyUnavailable, openPostgres, toRpcStatus } from '../src';

/** Ends the server side of a client's connection, as a PostgreSQL restart does (57P01 admin_shutdown). */
async function terminate(admin: Client, client: PoolClient): Promise<void> {
  // Not events.once: it rejects on the 'error' the client also emits, which is inTransaction's to handle.
  const ended = new Promise((resolve) => client.once('end', resolve));
  await admin.query('SELECT pg_terminate_backend($1)', [(client as unknown as { processID: number }).processID]);
  await ended;
}

describe('inTransaction', () => {
  let pool: Pool;
  let admin: Client;
  before(async () => {
    const { url } = await postgresServer();
    pool = new Pool({ connectionString: url, max: 2 });
    admin = new Client({ connectionString: url });
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    await pool?.end();
  });

  it('fails the work, not the process, when the connection is lost while the client is held between queries', async () => {
    await assert.rejects(
      inTransaction(pool, async (client) => {
        await terminate(admin, client);
        await client.query('SELECT 1');
      }),
      (error: unknown) => {
        assert.ok(isDependencyUnavailable(error), String(error));
        assert.equal(toRpcStatus(error).code, Code.UNAVAILABLE);
        return true;
      },
    );
    // The broken client was discarded: the pool still works.
    assert.equal((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1);
  });

  it('commits the work, and rolls it back when the work throws', async () => {
    const table = `kit_tx_${process.pid}`;
    await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (n int)`);
    try {
      await inTransaction(pool, (client) => client.query(`INSERT INTO ${table} VALUES (1)`));
      await assert.rejects(
        inTransaction(pool, async (client) => {
          await client.query(`INSERT INTO ${table} VALUES (2)`);
          throw new Error('the work failed');
        }),
        /the work failed/,
      );
      assert.deepEqual((await pool.query(`SELECT n FROM ${table} ORDER BY n`)).rows, [{ n: 1 }]);
    } finally {
      await pool.query(`DROP TABLE ${table}`);
    }
  });
});

describe('isDependencyUnavailable', () => {
  it('recognises unreachable servers and PostgreSQL shutting down, and nothing else', () => {
    const coded = (code: string) => Object.assign(new Error(code), { code });
    for (const error of [
      coded('ECONNREFUSED'),
      coded('57P01'),
      coded('57P03'),
      coded('08006'),
      coded('57014'),
      new Error('Connection terminated unexpectedly'),
      new Error('Query read timeout'),
      new Error('timeout exceeded when trying to connect'),
      new Error('wrapped', { cause: coded('ECONNRESET') }),
    ]) {
      assert.ok(isDependencyUnavailable(error), error.message);
    }
    for (const error of [coded('23505'), coded('42P01'), new Error('boom'), 'ECONNREFUSED', undefined]) {
      assert.ok(!isDependencyUnavailable(error), String(error));
    }
  });
});

describe('openPostgres bounds every wait of a call', () => {
  const migrationsDir = mkdtempSync(path.join(tmpdir(), 'no-migrations-'));
  let url: string;
  let pool: Pool;
  let admin: Client;
  before(async () => {
    url = await freshDatabaseUrl('kit_pool');
    pool = await openPostgres({
      url,
      migrationsDir,
      logger: createLogger({ name: 'test', level: 'silent' }),
      applicationName: 'kit-pool-test',
      connectTimeoutMs: 5000,
      acquireTimeoutMs: 200,
      statementTimeoutMs: 300,
      poolSize: 1,
    });
    admin = new Client({ connectionString: url });
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    await pool?.end();
    await dropDatabase(url);
    rmSync(migrationsDir, { recursive: true, force: true });
  });

  const unavailable = (error: unknown) => {
    assert.equal(toRpcStatus(error).code, Code.UNAVAILABLE, String(error));
    return true;
  };

  it('a statement that runs too long is cancelled by the server, UNAVAILABLE', async () => {
    await assert.rejects(pool.query('SELECT pg_sleep(30)'), (error: Error & { code?: string }) => {
      // The server's own cancellation (57014), before the client would give up on it.
      assert.equal(error.code, '57014', String(error));
      return unavailable(error);
    });
  });

  it("a statement waiting behind another session's lock is cancelled too, and its sound connection kept", async () => {
    const backend = () =>
      inTransaction(pool, async (client) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
    const before = await backend();
    await admin.query('BEGIN');
    try {
      await admin.query('LOCK TABLE pgmigrations IN ACCESS EXCLUSIVE MODE');
      await assert.rejects(
        inTransaction(pool, (client) => client.query('SELECT count(*) FROM pgmigrations')),
        unavailable,
      );
    } finally {
      await admin.query('ROLLBACK');
    }
    assert.equal(await backend(), before, 'the connection whose statement the server cancelled is reused, not reopened');
  });

  it('a call finding every connection busy waits for one only so long, UNAVAILABLE', async () => {
    const holder = await pool.connect();
    try {
      await assert.rejects(pool.query('SELECT 1'), unavailable);
    } finally {
      holder.release();
    }
    // The pool still serves once the connection is free.
    assert.equal((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1);
  });
});
