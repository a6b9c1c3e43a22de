import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { AppError, Code, createLogger, dropDatabase, openPostgres } from '@platform/service-kit';
import { freshDatabaseUrl, postgresServer } from '@platform/testing';
import type { Pool } from 'pg';
import { toNewOrder } from '../src/internal/order-rules';
import {
  InMemoryOrderRepository,
  ORDER_MIGRATIONS_DIR,
  PostgresOrderRepository,
  type OrderChange,
  type OrderRecord,
  type OrderRepository,
} from '../src/repository';

const logger = createLogger({ name: 'test', level: 'silent' });

function newOrder(userId: string, requestId = '', quantity = 2) {
  return toNewOrder({
    userId,
    currency: 'EUR',
    requestId,
    items: [
      { sku: 'BOOK-1', quantity, unitPriceCents: 1999n },
      { sku: 'PEN', quantity: 1, unitPriceCents: 150n },
    ],
  });
}

function hasCode(code: Code) {
  return (error: unknown) => error instanceof AppError && error.code === code;
}

/** Watches until `count` changes arrive; `live` resolves once the watch is active. */
function collectChanges(repository: OrderRepository, count: number): { live: Promise<void>; changes: Promise<OrderChange[]> } {
  const changes: OrderChange[] = [];
  let resolveChanges: (changes: OrderChange[]) => void = () => undefined;
  const done = new Promise<OrderChange[]>((resolve) => (resolveChanges = resolve));
  const unsubscribe = repository.watch(
    (change) => {
      changes.push(change);
      if (changes.length === count) resolveChanges(changes);
    },
    (error) => assert.fail(`the watch was lost: ${error.message}`),
  );
  return {
    live: unsubscribe.then(() => undefined),
    changes: done.finally(() => unsubscribe.then((stop) => stop())),
  };
}

function repositoryContract(name: string, open: () => Promise<OrderRepository>) {
  describe(`${name} order repository`, () => {
    let orders: OrderRepository;
    before(async () => {
      orders = await open();
    });

    it('stores an order with its items in order and reads it back', async () => {
      const { order: created } = await orders.create(newOrder(randomUUID()));
      assert.equal(created.status, 'CREATED');
      assert.equal(created.totalCents, 4148n);
      assert.deepEqual(
        created.items.map((item) => item.sku),
        ['BOOK-1', 'PEN'],
      );
      assert.deepEqual(await orders.get(created.id), created);
    });

    it('replays a repeated request_id with the same payload and rejects a different payload', async () => {
      const userId = randomUUID();
      const first = await orders.create(newOrder(userId, 'checkout-42'));
      assert.equal(first.created, true);
      assert.deepEqual(await orders.create(newOrder(userId, 'checkout-42')), { order: first.order, created: false });
      await assert.rejects(orders.create(newOrder(userId, 'checkout-42', 3)), hasCode(Code.ALREADY_EXISTS));
      assert.equal((await orders.list({ userId, limit: 10 })).items.length, 1, 'nothing created by the replay');
    });

    it('cancels once, then refuses with FAILED_PRECONDITION; unknown ids are NOT_FOUND', async () => {
      const { order: created } = await orders.create(newOrder(randomUUID()));
      assert.equal((await orders.cancel(created.id)).status, 'CANCELLED');
      await assert.rejects(orders.cancel(created.id), hasCode(Code.FAILED_PRECONDITION));
      await assert.rejects(orders.cancel(randomUUID()), hasCode(Code.NOT_FOUND));
      assert.equal((await orders.get(created.id))?.status, 'CANCELLED');
    });

    it("pages through one user's orders exactly once, and through everyone's", async () => {
      const userId = randomUUID();
      const mine: OrderRecord[] = [];
      for (let i = 0; i < 5; i++) {
        mine.push((await orders.create(newOrder(userId))).order);
        await orders.create(newOrder(randomUUID()));
      }
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await orders.list({ userId, limit: 2, after });
        seen.push(...page.items.map((order) => order.id));
        after = page.next;
      } while (after !== undefined);
      assert.deepEqual(
        seen,
        mine.map((order) => order.id),
      );
      // Each item's position resumes right after it (a page cut short to fit a response resumes there).
      const page = await orders.list({ userId, limit: 3 });
      assert.equal(page.positions.length, page.items.length);
      assert.deepEqual(
        (await orders.list({ userId, limit: 2, after: page.positions[0] })).items.map((order) => order.id),
        mine.slice(1, 3).map((order) => order.id),
      );
      const everyone = await orders.list({ limit: 1000 });
      assert.ok(everyone.items.length >= 10);
      assert.equal(new Set(everyone.items.map((order) => order.id)).size, everyone.items.length);
    });

    it('delivers created and cancelled changes to watchers', async () => {
      const watching = collectChanges(orders, 2);
      await watching.live;
      const { order: created } = await orders.create(newOrder(randomUUID()));
      await orders.cancel(created.id);
      const changes = await watching.changes;
      assert.deepEqual(
        changes.map((change) => [change.type, change.order.id, change.order.status]),
        [
          ['CREATED', created.id, 'CREATED'],
          ['CANCELLED', created.id, 'CANCELLED'],
        ],
      );
    });
  });
}

repositoryContract('in-memory', async () => new InMemoryOrderRepository());

describe('PostgreSQL', () => {
  let url: string;
  const pools: Pool[] = [];
  const repositories: OrderRepository[] = [];

  /** One more replica: its own pool and LISTEN connection on the same database. */
  async function replica(): Promise<PostgresOrderRepository> {
    const pool = await openPostgres({
      url,
      migrationsDir: ORDER_MIGRATIONS_DIR,
      logger,
      applicationName: 'order-repository-test',
      connectTimeoutMs: 5000,
      acquireTimeoutMs: 2000,
      statementTimeoutMs: 5000,
    });
    const repository = new PostgresOrderRepository({ pool, url, logger });
    pools.push(pool);
    repositories.push(repository);
    return repository;
  }

  before(async () => {
    url = await freshDatabaseUrl('orders');
  });
  after(async () => {
    for (const repository of repositories) await repository.close();
    for (const pool of pools) await pool.end();
    await dropDatabase(url);
    await (await postgresServer()).stop();
  });

  repositoryContract('PostgreSQL', () => replica());

  it('creates exactly one order for concurrent requests with one request_id', async () => {
    const [a, b] = [await replica(), await replica()];
    const userId = randomUUID();
    const attempts = Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).create(newOrder(userId, 'concurrent-1')));
    const results = await Promise.all(attempts);
    assert.equal(new Set(results.map((result) => result.order.id)).size, 1);
    assert.equal(results.filter((result) => result.created).length, 1, 'exactly one attempt created it');
    const { rows } = await pools[0]!.query('SELECT count(*)::int AS n FROM orders WHERE request_id = $1', ['concurrent-1']);
    assert.equal(rows[0].n, 1);
  });

  it("delivers one replica's changes to another replica's watchers", async () => {
    const [writer, watcher] = [await replica(), await replica()];
    const watching = collectChanges(watcher, 1);
    await watching.live;
    const { order: created } = await writer.create(newOrder(randomUUID()));
    const [change] = await watching.changes;
    assert.equal(change?.order.id, created.id);
    assert.equal(change?.type, 'CREATED');
  });

  it('rejects rows that break the schema rules even if code let them through', async () => {
    const pool = pools[0]!;
    await assert.rejects(
      pool.query(`INSERT INTO orders (id, user_id, currency, total_cents, status) VALUES ($1, $2, 'eur', 0, 'CREATED')`, [
        randomUUID(),
        randomUUID(),
      ]),
      /check constraint/,
    );
  });
});
