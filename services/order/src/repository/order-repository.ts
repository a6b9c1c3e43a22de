import { AppError, type Page } from '@platform/service-kit';

export type OrderState = 'CREATED' | 'CANCELLED';

export interface OrderItemRecord {
  sku: string;
  quantity: number;
  unitPriceCents: bigint;
}

export interface OrderRecord {
  id: string;
  userId: string;
  items: OrderItemRecord[];
  totalCents: bigint;
  currency: string;
  status: OrderState;
  createTime: Date;
}

export interface NewOrder {
  userId: string;
  items: OrderItemRecord[];
  totalCents: bigint;
  currency: string;
  /** Present when the caller sent a request_id. */
  idempotency?: { requestId: string; payloadHash: string } | undefined;
}

export interface OrderChange {
  type: OrderState;
  order: OrderRecord;
}

export interface ListOrdersOptions {
  /** Undefined lists every user's orders. */
  userId?: string | undefined;
  limit: number;
  after?: string | undefined;
}

/** Where orders live. Errors are AppErrors (ALREADY_EXISTS, NOT_FOUND, FAILED_PRECONDITION). */
export interface OrderRepository {
  /**
   * Stores a new order, or returns the one stored earlier under the same
   * request_id when the payload matches (ALREADY_EXISTS when it does not);
   * `created` tells the two apart.
   */
  create(order: NewOrder): Promise<{ order: OrderRecord; created: boolean }>;
  get(id: string): Promise<OrderRecord | undefined>;
  /** Orders in creation order, after the given position. */
  list(options: ListOrdersOptions): Promise<Page<OrderRecord>>;
  /** CREATED -> CANCELLED. */
  cancel(id: string): Promise<OrderRecord>;
  /**
   * Delivers every change made through any replica sharing this storage;
   * resolves once live. Should changes be missed (the storage's connection
   * lost), onLost is called with UNAVAILABLE and no change follows: the
   * watcher must watch again.
   */
  watch(listener: (change: OrderChange) => void, onLost: (error: AppError) => void): Promise<() => void>;
  /** Releases what watch() holds. */
  close(): Promise<void>;
}

export function orderNotFound(id: string): AppError {
  return AppError.notFound(`order ${id} not found`);
}

export function alreadyCancelled(id: string): AppError {
  return AppError.failedPrecondition(`order ${id} is already cancelled`);
}

export function requestIdReused(requestId: string): AppError {
  return AppError.alreadyExists(`request_id ${requestId} was already used for a different order`);
}
