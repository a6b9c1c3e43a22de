/**
 * Errors that say a dependency cannot be reached right now, as opposed to a
 * bug: the caller may retry, so they are answered UNAVAILABLE (still a server
 * fault for the SLO) instead of INTERNAL.
 */

/** Node's socket errors: the peer refused, reset, vanished or never answered. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * PostgreSQL SQLSTATEs of a server that is shutting down, starting, gone or
 * too slow: 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
 * cannot_connect_now, 57014 query_canceled (statement_timeout, or an
 * operator's pg_cancel_backend), and class 08, connection exceptions.
 */
const POSTGRES_UNAVAILABLE = /^(57P0[123]|57014|08...)$/;

/** What node-postgres says, without a code, when the connection or the pool fails it. */
const POSTGRES_CLIENT_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

export function isDependencyUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const { code, message } = current as Error & { code?: unknown };
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE.test(code))) return true;
    if (POSTGRES_CLIENT_MESSAGES.some((known) => message.startsWith(known))) return true;
    if (current instanceof AggregateError && current.errors.some((inner) => isDependencyUnavailable(inner))) return true;
  }
  return false;
}
