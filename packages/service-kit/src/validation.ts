import { z } from 'zod';
import { AppError, type FieldViolation } from './errors';

/**
 * Validates a decoded request against a schema and returns the parsed value.
 * Every violation is reported at once, each named by its proto field path
 * (`items[0].unit_price_cents`), as INVALID_ARGUMENT with google.rpc.BadRequest.
 */
export function parseRequest<Schema extends z.ZodType>(schema: Schema, request: unknown): z.output<Schema> {
  const result = schema.safeParse(request);
  if (result.success) return result.data;
  throw AppError.invalidArgument(result.error.issues.map(toFieldViolation));
}

function toFieldViolation(issue: z.core.$ZodIssue): FieldViolation {
  return { field: protoFieldPath(issue.path), description: issue.message };
}

/** ['items', 0, 'unitPriceCents'] -> 'items[0].unit_price_cents' */
export function protoFieldPath(path: readonly PropertyKey[]): string {
  let field = '';
  for (const segment of path) {
    if (typeof segment === 'number') field += `[${segment}]`;
    else field += (field === '' ? '' : '.') + String(segment).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  }
  return field;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Field rules shared by every service's request schemas. */
export const field = {
  /** A UUID in any case, normalised to lower case as PostgreSQL prints it. */
  uuid: () =>
    z
      .string()
      .regex(UUID_PATTERN, { error: 'must be a UUID' })
      .transform((id) => id.toLowerCase()),
  /** Free text: length in Unicode code points, as a person (and PostgreSQL's char_length) counts it; no NUL. */
  text: (options: { min: number; max: number; trim?: boolean }) =>
    z
      .string()
      .transform((value) => (options.trim ? value.trim() : value))
      // No one types NUL, and PostgreSQL text cannot store it (it would fail the write as a server error).
      .refine((value) => !value.includes('\u0000'), { error: 'must not contain NUL characters' })
      .refine((value) => [...value].length >= options.min, {
        error: options.min === 1 ? 'is required' : `must have at least ${options.min} characters`,
      })
      .refine((value) => [...value].length <= options.max, {
        error: `must have at most ${options.max} characters`,
      }),
} as const;
