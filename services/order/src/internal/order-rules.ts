import { createHash } from 'node:crypto';
import type { NewOrder, OrderItemRecord } from '../repository';
import type { ValidCreateOrderRequest } from './validation';

/** Sum of quantity x unit price, in integer cents: exact at any size. */
export function orderTotal(items: readonly OrderItemRecord[]): bigint {
  return items.reduce((total, item) => total + BigInt(item.quantity) * item.unitPriceCents, 0n);
}

/**
 * Identifies what an order asks for, so a retry with the same request_id can
 * be told apart from a different order that reuses the key.
 */
export function payloadFingerprint(request: Omit<ValidCreateOrderRequest, 'requestId'>): string {
  const canonical = JSON.stringify([
    request.userId,
    request.currency,
    request.items.map((item) => [item.sku, item.quantity, item.unitPriceCents.toString()]),
  ]);
  return createHash('sha256').update(canonical).digest('base64url');
}

export function toNewOrder(request: ValidCreateOrderRequest): NewOrder {
  const { requestId, ...payload } = request;
  return {
    userId: payload.userId,
    items: payload.items,
    currency: payload.currency,
    totalCents: orderTotal(payload.items),
    idempotency: requestId === '' ? undefined : { requestId, payloadHash: payloadFingerprint(payload) },
  };
}
