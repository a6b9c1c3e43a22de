import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequest } from '@platform/service-kit';
import { rejectedFields } from '@platform/testing';
import { orderTotal, payloadFingerprint, toNewOrder } from '../src/internal/order-rules';
import { createOrderRequest } from '../src/internal/validation';

const USER = '0d9b6a3e-5b7f-4a53-9c1e-2f8b7d6c5a41';
const item = (sku: string, quantity: number, unitPriceCents: bigint) => ({ sku, quantity, unitPriceCents });

describe('order rules', () => {
  it('computes the total exactly, even at the largest allowed order', () => {
    const largest = Array.from({ length: 100 }, (_, i) => item(`SKU-${i}`, 1000, 100_000_000n));
    assert.equal(orderTotal(largest), 10_000_000_000_000n);
    assert.equal(orderTotal([item('A', 3, 1999n), item('B', 1, 1n)]), 5998n);
  });

  it('fingerprints the payload, not the request id', () => {
    const payload = { userId: USER, currency: 'EUR', items: [item('A', 1, 100n)] };
    assert.equal(payloadFingerprint(payload), payloadFingerprint({ ...payload, items: [item('A', 1, 100n)] }));
    assert.notEqual(payloadFingerprint(payload), payloadFingerprint({ ...payload, currency: 'USD' }));
    assert.notEqual(payloadFingerprint(payload), payloadFingerprint({ ...payload, items: [item('A', 2, 100n)] }));
    const keyed = toNewOrder({ ...payload, requestId: 'r-1' });
    assert.deepEqual(keyed.idempotency, { requestId: 'r-1', payloadHash: payloadFingerprint(payload) });
    assert.equal(toNewOrder({ ...payload, requestId: '' }).idempotency, undefined);
  });
});

describe('CreateOrder validation', () => {
  const valid = { userId: USER, items: [item('SKU_1-a', 2, 1250n)], currency: 'EUR', requestId: '' };

  const fieldsRejected = (request: unknown) => rejectedFields(() => parseRequest(createOrderRequest, request));

  it('accepts a valid order', () => {
    assert.deepEqual(fieldsRejected(valid), []);
    assert.deepEqual(fieldsRejected({ ...valid, items: [item('x'.repeat(64), 1000, 100_000_000n), item('y', 1, 0n)] }), []);
  });

  it('names every violated field path at once', () => {
    const request = {
      userId: 'nope',
      currency: 'eur',
      requestId: 'r'.repeat(129),
      items: [item('bad sku', 0, -1n), item('', 1001, 100_000_001n), item('ok', 1, 5n)],
    };
    assert.deepEqual(fieldsRejected(request).sort(), [
      'currency',
      'items[0].quantity',
      'items[0].sku',
      'items[0].unit_price_cents',
      'items[1].quantity',
      'items[1].sku',
      'items[1].unit_price_cents',
      'request_id',
      'user_id',
    ]);
  });

  it('requires 1 to 100 items', () => {
    assert.deepEqual(fieldsRejected({ ...valid, items: [] }), ['items']);
    assert.deepEqual(fieldsRejected({ ...valid, items: Array.from({ length: 101 }, () => item('A', 1, 1n)) }), ['items']);
    assert.deepEqual(fieldsRejected({ ...valid, items: Array.from({ length: 100 }, () => item('A', 1, 1n)) }), []);
  });
});
