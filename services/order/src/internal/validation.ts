import { field, pageSizeField, pageTokenField } from '@platform/service-kit';
import { z } from 'zod';

export const MAX_ITEMS = 100;

const orderItem = z.object({
  sku: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -' }),
  quantity: z.number().int().min(1, { error: 'must be between 1 and 1000' }).max(1000, { error: 'must be between 1 and 1000' }),
  unitPriceCents: z
    .bigint()
    .min(0n, { error: 'must be between 0 and 100000000' })
    .max(100_000_000n, { error: 'must be between 0 and 100000000' }),
});

export const createOrderRequest = z.object({
  userId: field.uuid(),
  items: z
    .array(orderItem)
    .min(1, { error: 'at least one item is required' })
    .max(MAX_ITEMS, { error: `at most ${MAX_ITEMS} items are allowed` }),
  currency: z.string().regex(/^[A-Z]{3}$/, { error: 'must be an ISO 4217 code of three upper-case letters' }),
  requestId: field.text({ min: 0, max: 128 }),
});

export type ValidCreateOrderRequest = z.output<typeof createOrderRequest>;

export const orderIdRequest = z.object({ id: field.uuid() });

/** An empty user_id means every user's orders. */
const optionalUserId = z.union([z.literal('').transform(() => undefined), field.uuid()]);

export const listOrdersRequest = z.object({
  userId: optionalUserId,
  pageSize: pageSizeField(),
  pageToken: pageTokenField(),
});

export const watchOrdersRequest = z.object({ userId: optionalUserId });
