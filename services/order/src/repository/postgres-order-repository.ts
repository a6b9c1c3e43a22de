import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { AppError, inTransaction, keysetPage, type Logger, type Page } from '@platform/service-kit';
import { Client, type Pool, type PoolClient } from 'pg';
import {
  alreadyCancelled,
  orderNotFound,
  requestIdReused,
  type ListOrdersOptions,
  type NewOrder,
  type OrderChange,
  type OrderRecord,
  type OrderRepository,
  type OrderState,
} from './order-repository';

/** The schema this repository expects, applied by openPostgres at start-up. */
export const ORDER_MIGRATIONS_DIR = path.resolve(__dirname, '../../../migrations');

/** NOTIFY channel shared by every replica. Payloads carry ids only: NOTIFY is limited to 8000 bytes. */
const CHANNEL = 'order_changes';

interface OrderRow {
  id: string;
  seq: string;
  user_id: string;
  currency: string;
  total_cents: string;
  status: OrderState;
  create_time: Date;
  items: { sku: string; quantity: number; unit_price_cents: string }[];
}

const SELECT_ORDERS = `
  SELECT o.id, o.seq, o.user_id, o.currency, o.total_cents, o.status, o.create_time,
         json_agg(json_build_object(
           'sku', i.sku, 'quantity', i.quantity, 'unit_price_cents', i.unit_price_cents::text
         ) ORDER BY i.position) AS items
  FROM orders o JOIN order_items i ON i.order_id = o.id`;

export interface PostgresOrderRepositoryOptions {
  pool: Pool;
  /** Connection string for the dedicated LISTEN connection (a pooled one would be shared). */
  url: string;
  logger: Logger;
}

export class PostgresOrderRepository implements OrderRepository {
  private readonly pool: Pool;
  private readonly changes = new EventEmitter();
  private readonly feed: ChangeFeed;

  constructor(options: PostgresOrderRepositoryOptions) {
    this.pool = options.pool;
    this.changes.setMaxListeners(0);
    this.feed = new ChangeFeed(options.url, options.logger, {
      onNotice: (notice) => this.publish(notice),
      onLost: (error) => this.changes.emit('lost', AppError.unavailable(WATCH_INTERRUPTED, error)),
    });
  }

  async create(order: NewOrder): Promise<{ order: OrderRecord; created: boolean }> {
    const id = randomUUID();
    const inserted = await inTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO orders (id, user_id, currency, total_cents, status, request_id, request_hash)
         VALUES ($1, $2, $3, $4, 'CREATED', $5, $6)
         ON CONFLICT (request_id) DO NOTHING`,
        [
          id,
          order.userId,
          order.currency,
          order.totalCents.toString(),
          order.idempotency?.requestId ?? null,
          order.idempotency?.payloadHash ?? null,
        ],
      );
      if (rowCount === 0) return false;
      await client.query(
        `INSERT INTO order_items (order_id, position, sku, quantity, unit_price_cents)
         SELECT $1, t.ord - 1, t.sku, t.quantity, t.unit_price_cents
         FROM unnest($2::text[], $3::int[], $4::bigint[]) WITH ORDINALITY AS t(sku, quantity, unit_price_cents, ord)`,
        [
          id,
          order.items.map((item) => item.sku),
          order.items.map((item) => item.quantity),
          order.items.map((item) => item.unitPriceCents.toString()),
        ],
      );
      await notify(client, { type: 'CREATED', id });
      return true;
    });
    if (inserted) return { order: await this.mustGet(id), created: true };
    return { order: await this.replay(order.idempotency!), created: false };
  }

  private async replay(idempotency: { requestId: string; payloadHash: string }): Promise<OrderRecord> {
    const { rows } = await this.pool.query<{ id: string; request_hash: string }>(
      'SELECT id, request_hash FROM orders WHERE request_id = $1',
      [idempotency.requestId],
    );
    const original = rows[0]!;
    if (original.request_hash !== idempotency.payloadHash) throw requestIdReused(idempotency.requestId);
    return this.mustGet(original.id);
  }

  async get(id: string): Promise<OrderRecord | undefined> {
    const { rows } = await this.pool.query<OrderRow>(`${SELECT_ORDERS} WHERE o.id = $1 GROUP BY o.id`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async list(options: ListOrdersOptions): Promise<Page<OrderRecord>> {
    const { rows } = await this.pool.query<OrderRow>(
      `${SELECT_ORDERS}
       WHERE o.seq > $1 AND ($2::uuid IS NULL OR o.user_id = $2)
       GROUP BY o.id ORDER BY o.seq LIMIT $3`,
      [options.after ?? '0', options.userId ?? null, options.limit + 1],
    );
    return keysetPage(rows, options.limit, toRecord);
  }

  async cancel(id: string): Promise<OrderRecord> {
    const cancelled = await inTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(`UPDATE orders SET status = 'CANCELLED' WHERE id = $1 AND status = 'CREATED'`, [id]);
      if (rowCount === 0) return false;
      await notify(client, { type: 'CANCELLED', id });
      return true;
    });
    const order = await this.get(id);
    if (order === undefined) throw orderNotFound(id);
    if (!cancelled) throw alreadyCancelled(id);
    return order;
  }

  async watch(listener: (change: OrderChange) => void, onLost: (error: AppError) => void): Promise<() => void> {
    await this.feed.listen();
    this.changes.on('change', listener);
    this.changes.on('lost', onLost);
    return () => {
      this.changes.off('change', listener);
      this.changes.off('lost', onLost);
    };
  }

  async close(): Promise<void> {
    await this.feed.close();
  }

  private async publish(notice: ChangeNotice): Promise<void> {
    if (this.changes.listenerCount('change') === 0) return;
    const order = await this.get(notice.id);
    if (order === undefined) return;
    // The row may have moved on since the notice was sent; an event reports the state it announces.
    const change: OrderChange = { type: notice.type, order: { ...order, status: notice.type } };
    this.changes.emit('change', change);
  }

  private async mustGet(id: string): Promise<OrderRecord> {
    const order = await this.get(id);
    if (order === undefined) throw new Error(`order ${id} vanished right after it was written`);
    return order;
  }
}

/**
 * Watchers are told, rather than left to miss events in silence: NOTIFY
 * delivers only to connected listeners, so whatever was committed while the
 * LISTEN connection was down (or an event that could not be read back) is
 * gone from the feed.
 */
const WATCH_INTERRUPTED =
  'the order change feed was interrupted and events may have been missed; watch again, and use ListOrders for what changed meanwhile';

interface ChangeNotice {
  type: OrderState;
  id: string;
}

/** Sent inside the writing transaction, so listeners hear of committed changes only. */
async function notify(client: PoolClient, notice: ChangeNotice): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(notice)]);
}

/**
 * One LISTEN connection per process, opened on first use and reopened with
 * backoff when it drops. Notices are handled one at a time, in order.
 */
class ChangeFeed {
  private client: Client | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly handlers: {
      onNotice: (notice: ChangeNotice) => Promise<void>;
      /** The feed may have skipped notices: the connection dropped, or a notice could not be delivered. */
      onLost: (error: unknown) => void;
    },
  ) {}

  listen(): Promise<void> {
    if (this.client) return Promise.resolve();
    // Outside the caller's trace: the connection, and every notice read back on it, serve every
    // watcher of the process, not the one whose call happened to open it. Without a parent span
    // its queries are not traced at all (requireParentSpan).
    this.connecting ??= context.with(ROOT_CONTEXT, () => this.connect()).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
    await this.queue;
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: 'order-service-listener' });
    client.on('notification', (message) => {
      const notice = parseNotice(message.payload);
      if (!notice) return;
      this.queue = this.queue
        .then(() => this.handlers.onNotice(notice))
        .catch((error: unknown) => {
          this.logger.error({ err: error }, 'could not deliver an order change; ending the watches');
          this.handlers.onLost(error);
        });
    });
    client.on('error', (error) => {
      this.logger.error({ err: error }, 'order change feed connection lost; ending the watches and reconnecting');
      this.client = undefined;
      this.handlers.onLost(error);
      void client.end().catch(() => undefined);
      void this.reconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    if (this.closed) {
      await client.end();
      return;
    }
    this.client = client;
  }

  private async reconnect(): Promise<void> {
    for (let delayMs = 100; !this.closed && !this.client; delayMs = Math.min(delayMs * 2, 5000)) {
      await sleep(delayMs);
      await this.listen().catch((error: unknown) => this.logger.warn({ err: error, retryInMs: delayMs }, 'order change feed still down'));
    }
  }
}

function parseNotice(payload: string | undefined): ChangeNotice | undefined {
  try {
    const value = JSON.parse(payload ?? '') as Partial<ChangeNotice>;
    if ((value.type === 'CREATED' || value.type === 'CANCELLED') && typeof value.id === 'string') {
      return { type: value.type, id: value.id };
    }
  } catch {
    // not one of ours
  }
  return undefined;
}

function toRecord(row: OrderRow): OrderRecord {
  return {
    id: row.id,
    userId: row.user_id,
    items: row.items.map((item) => ({ sku: item.sku, quantity: item.quantity, unitPriceCents: BigInt(item.unit_price_cents) })),
    totalCents: BigInt(row.total_cents),
    currency: row.currency,
    status: row.status,
    createTime: row.create_time,
  };
}
