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

const cursorJson = z.object({
  l: z.string(),
  s: z.string(),
  a: z.string().regex(/^\d{1,19}$/),
});

/** Opaque to callers: base64url JSON, so tokens survive copy and paste into URLs. */
export function encodePageToken(cursor: PageCursor): string {
  const json = JSON.stringify({ l: cursor.listing, s: cursor.scope, a: cursor.after });
  return Buffer.from(json).toString('base64url');
}

/** page_token: empty means the first page; anything that is not one of our tokens is rejected. */
export const pageTokenField = () =>
  z.string().transform((token, ctx): PageCursor | undefined => {
    if (token === '') return undefined;
    const decoded = cursorJson.safeParse(safeJson(Buffer.from(token, 'base64url').toString()));
    if (!decoded.success) {
      ctx.addIssue({ code: 'custom', message: 'is not a page token returned by this service' });
      return z.NEVER;
    }
    return { listing: decoded.data.l, scope: decoded.data.s, after: decoded.data.a };
  });

/**
 * Rejects a token issued for another listing or another filter, which would
 * otherwise silently page through the wrong rows.
 */
export function resumePosition(cursor: PageCursor | undefined, listing: string, scope: string): string | undefined {
  if (cursor === undefined) return undefined;
  if (cursor.listing !== listing || cursor.scope !== scope) {
    throw AppError.invalidArgument([
      { field: 'page_token', description: 'belongs to another listing or filter; start again without a token' },
    ]);
  }
  return cursor.after;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One page of a listing; `next` is the position to resume after, absent on the last page. */
export interface Page<Item> {
  items: Item[];
  next?: string;
}
