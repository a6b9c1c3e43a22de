import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from '@platform/telemetry';
import { z } from 'zod';
import { AppError } from './errors';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** page_size: 0 selects the default, large values are capped, negative ones are rejected. */
export const pageSizeField = () =>
  z
    .number()
    .int()
    .min(0, { error: 'must not be negative' })
    .transform((size) => (size === 0 ? DEFAULT_PAGE_SIZE : Math.min(size, MAX_PAGE_SIZE)));

/**
 * Where a listing resumes: `listing` names the RPC, `scope` its filter (for
 * example the user id), `after` the last position already returned.
 */
export interface PageCursor {
  listing: string;
  scope: string;
  after: string;
}

/** Positions are PostgreSQL bigint identities: 1 to 2^63-1. */
const MAX_POSITION = 2n ** 63n - 1n;
/** 128 bits of HMAC-SHA256, in base64url. */
const MAC_LENGTH = 22;

const cursorJson = z.object({
  l: z.string(),
  s: z.string(),
  a: z
    .string()
    .regex(/^\d{1,19}$/)
    .refine((after) => BigInt(after) <= MAX_POSITION),
});

/** page_token as received: bounded before anything else looks at it; PageTokens decides what it means. */
export const pageTokenField = () => z.string().max(512, { error: 'is not a page token returned by this service' });

/**
 * Page tokens callers cannot forge or edit: base64url JSON of the cursor,
 * then an HMAC-SHA256 of it under a key of the deployment (PAGE_TOKEN_KEY,
 * the same on every replica). Opaque to callers, and safe in URLs.
 */
export class PageTokens {
  readonly #key: Buffer;

  constructor(key: string | Buffer) {
    this.#key = Buffer.from(key);
  }

  /** The key from configuration, or one of this process (tokens then fail on other replicas and after a restart, which is said once). */
  static fromConfig(key: string | undefined, logger: Pick<Logger, 'warn'>): PageTokens {
    if (key !== undefined) return new PageTokens(key);
    logger.warn('PAGE_TOKEN_KEY is not set: page tokens are signed with a key of this process, so other replicas and restarts reject them');
    return new PageTokens(randomBytes(32));
  }

  encode(cursor: PageCursor): string {
    const body = Buffer.from(JSON.stringify({ l: cursor.listing, s: cursor.scope, a: cursor.after })).toString('base64url');
    return `${body}.${this.#mac(body)}`;
  }

  /**
   * The position to resume after, undefined for the first page (no token);
   * INVALID_ARGUMENT for a token this deployment did not issue, or issued for
   * another listing or filter (which would page through the wrong rows).
   */
  resume(token: string, listing: string, scope: string): string | undefined {
    if (token === '') return undefined;
    const [body = '', mac = '', ...rest] = token.split('.');
    // Compared as bytes: a caller's string of the right length may hold multi-byte characters.
    const given = Buffer.from(mac);
    const expected = Buffer.from(this.#mac(body));
    const authentic = rest.length === 0 && given.length === expected.length && timingSafeEqual(given, expected);
    const cursor = authentic ? cursorJson.safeParse(safeJson(Buffer.from(body, 'base64url').toString())) : undefined;
    if (!cursor?.success) throw invalidToken('is not a page token returned by this service');
    if (cursor.data.l !== listing || cursor.data.s !== scope)
      throw invalidToken('belongs to another listing or filter; start again without a token');
    return cursor.data.a;
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url').slice(0, MAC_LENGTH);
  }
}

function invalidToken(description: string): AppError {
  return AppError.invalidArgument([{ field: 'page_token', description }]);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * One page of a listing; `next` is the position to resume after, absent on
 * the last page; `positions[i]` is the position of `items[i]`.
 */
export interface Page<Item> {
  items: Item[];
  positions: string[];
  next?: string;
}

/**
 * The page of a keyset query that asked for `limit + 1` rows ordered by
 * `seq`: the extra row only tells that another page exists, so the last page
 * has no `next` and a listing never ends on an empty page.
 */
export function keysetPage<Row extends { seq: string }, Item>(rows: readonly Row[], limit: number, toItem: (row: Row) => Item): Page<Item> {
  const page = rows.slice(0, limit);
  return {
    items: page.map(toItem),
    positions: page.map((row) => row.seq),
    ...(rows.length > limit && { next: page[page.length - 1]!.seq }),
  };
}

/** A repeated message field's tag and the varint of its length, at most, per item. */
const ITEM_FRAMING_BYTES = 6;
/** For the page token and the response's own framing. */
const RESPONSE_HEADROOM_BYTES = 1024;

/**
 * The longest prefix of the page whose encoded items fit in a response of
 * `maxMessageBytes` (the server's send limit), `next` moved back to resume
 * after the last item kept: a page of large rows comes back shorter, never as
 * RESOURCE_EXHAUSTED. The first item is always kept, so a listing moves on
 * (a single item within the request limits always fits).
 */
export function fitPage<Item>(page: Page<Item>, encodedBytes: (item: Item) => number, maxMessageBytes: number): Page<Item> {
  const budget = maxMessageBytes - RESPONSE_HEADROOM_BYTES;
  let used = 0;
  for (let kept = 0; kept < page.items.length; kept++) {
    used += encodedBytes(page.items[kept]!) + ITEM_FRAMING_BYTES;
    if (used > budget && kept > 0) {
      return { items: page.items.slice(0, kept), positions: page.positions.slice(0, kept), next: page.positions[kept - 1]! };
    }
  }
  return page;
}
