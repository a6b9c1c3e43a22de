import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError, Code, createLogger, dropDatabase, openPostgres } from '@platform/service-kit';
import { freshDatabaseUrl, postgresServer } from '@platform/testing';
import type { Pool } from 'pg';
import {
  InMemoryUserRepository,
  PostgresUserRepository,
  USER_MIGRATIONS_DIR,
  type UserRecord,
  type UserRepository,
} from '../src/repository';

/** Both implementations must behave the same; each case runs against each. */
function repositoryContract(name: string, open: () => Promise<UserRepository>) {
  describe(`${name} user repository`, () => {
    let users: UserRepository;
    before(async () => {
      users = await open();
    });

    it('creates and reads back a user', async () => {
      const created = await users.create({ email: 'grace@example.com', displayName: 'Grace' });
      assert.match(created.id, /^[0-9a-f-]{36}$/);
      assert.ok(created.createTime instanceof Date);
      assert.deepEqual(await users.get(created.id), created);
    });

    it('returns nothing for an unknown id', async () => {
      assert.equal(await users.get('00000000-0000-4000-8000-000000000000'), undefined);
    });

    it('rejects an email taken in another letter case with ALREADY_EXISTS', async () => {
      await users.create({ email: 'Linus@Example.com', displayName: 'Linus' });
      await assert.rejects(users.create({ email: 'linus@example.COM', displayName: 'Other' }), (error: unknown) => {
        return error instanceof AppError && error.code === Code.ALREADY_EXISTS;
      });
    });

    it('pages through every user exactly once, in creation order', async () => {
      const created: UserRecord[] = [];
      for (let i = 0; i < 7; i++) created.push(await users.create({ email: `pager${i}@example.com`, displayName: `P${i}` }));
      const seen: UserRecord[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await users.list({ limit: 3, after });
        seen.push(...page.items);
        after = page.next;
        pages++;
      } while (after !== undefined);
      const ids = seen.map((user) => user.id);
      assert.equal(new Set(ids).size, ids.length, 'no user twice');
      assert.deepEqual(
        ids.slice(-7),
        created.map((user) => user.id),
      );
      assert.equal(pages, Math.ceil(seen.length / 3), 'no trailing empty page');
      // Each item's position resumes right after it (a page cut short to fit a response resumes there).
      const page = await users.list({ limit: 3 });
      assert.equal(page.positions.length, page.items.length);
      assert.deepEqual((await users.list({ limit: 2, after: page.positions[1] })).items, seen.slice(2, 4));
    });
  });
}

repositoryContract('in-memory', async () => new InMemoryUserRepository());

describe('PostgreSQL', () => {
  let url: string;
  let pool: Pool;
  before(async () => {
    url = await freshDatabaseUrl('users');
    pool = await openPostgres({
      url,
      migrationsDir: USER_MIGRATIONS_DIR,
      logger: createLogger({ name: 'test', level: 'silent' }),
      applicationName: 'user-repository-test',
      connectTimeoutMs: 5000,
      acquireTimeoutMs: 2000,
      statementTimeoutMs: 5000,
    });
  });
  after(async () => {
    await pool.end();
    await dropDatabase(url);
    await (await postgresServer()).stop();
  });

  repositoryContract('PostgreSQL', async () => new PostgresUserRepository(pool));

  it('applies migrations idempotently when started again', async () => {
    const again = await openPostgres({
      url,
      migrationsDir: USER_MIGRATIONS_DIR,
      logger: createLogger({ name: 'test', level: 'silent' }),
      applicationName: 'user-repository-test',
      connectTimeoutMs: 5000,
      acquireTimeoutMs: 2000,
      statementTimeoutMs: 5000,
    });
    const { rows } = await again.query<{ count: string }>('SELECT count(*) FROM pgmigrations');
    await again.end();
    assert.equal(rows[0]?.count, '1');
  });
});
