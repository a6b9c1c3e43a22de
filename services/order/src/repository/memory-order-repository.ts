import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Page } from '@platform/service-kit';
import {
  alreadyCancelled,
  orderNotFound,
  requestIdReused,
  type ListOrdersOptions,
  type NewOrder,
  type OrderChange,
  type OrderRecord,
  type OrderRepository,
} from './order-repository';

/**
 * For unit tests and for running without a database: one process, nothing
 * survives a restart, and watchers see this process's changes only.
 */
export class InMemoryOrderRepository implements OrderRepository {
  /** Position n (1-based, as in PostgreSQL's seq) is orders[n - 1]. */
  private readonly orders: OrderRecord[] = [];
  private readonly byId = new Map<string, OrderRecord>();
  private readonly byRequestId = new Map<string, { payloadHash: string; order: OrderRecord }>();
  private readonly changes = new EventEmitter().setMaxListeners(0);

  async create(order: NewOrder): Promise<{ order: OrderRecord; created: boolean }> {
    const { idempotency, ...fields } = order;
    if (idempotency) {
      const earlier = this.byRequestId.get(idempotency.requestId);
      if (earlier && earlier.payloadHash !== idempotency.payloadHash) throw requestIdReused(idempotency.requestId);
      if (earlier) return { order: copy(earlier.order), created: false };
    }
    const record: OrderRecord = { ...fields, id: randomUUID(), status: 'CREATED', createTime: new Date() };
    this.orders.push(record);
    this.byId.set(record.id, record);
    if (idempotency) this.byRequestId.set(idempotency.requestId, { payloadHash: idempotency.payloadHash, order: record });
    this.emit({ type: 'CREATED', order: copy(record) });
    return { order: copy(record), created: true };
  }

  async get(id: string): Promise<OrderRecord | undefined> {
    const order = this.byId.get(id);
    return order && copy(order);
  }

  async list(options: ListOrdersOptions): Promise<Page<OrderRecord>> {
    const items: OrderRecord[] = [];
    const positions: string[] = [];
    let position = Number(options.after ?? 0);
    for (; position < this.orders.length && items.length < options.limit; position++) {
      const order = this.orders[position]!;
      if (options.userId !== undefined && order.userId !== options.userId) continue;
      items.push(copy(order));
      // Resuming after an item starts at the next index.
      positions.push(String(position + 1));
    }
    const more = this.orders.slice(position).some((order) => options.userId === undefined || order.userId === options.userId);
    return { items, positions, ...(more && { next: String(position) }) };
  }

  async cancel(id: string): Promise<OrderRecord> {
    const order = this.byId.get(id);
    if (order === undefined) throw orderNotFound(id);
    if (order.status === 'CANCELLED') throw alreadyCancelled(id);
    order.status = 'CANCELLED';
    this.emit({ type: 'CANCELLED', order: copy(order) });
    return copy(order);
  }

  /** In one process's memory nothing is ever lost: it takes no onLost. */
  async watch(listener: (change: OrderChange) => void): Promise<() => void> {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  async close(): Promise<void> {
    this.changes.removeAllListeners();
  }

  private emit(change: OrderChange): void {
    this.changes.emit('change', change);
  }
}

/** Callers get their own copy, as they would from a database. */
function copy(order: OrderRecord): OrderRecord {
  return { ...order, items: order.items.map((item) => ({ ...item })) };
}
