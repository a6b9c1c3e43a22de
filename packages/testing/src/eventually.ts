import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  timeoutMs: number;
  intervalMs: number;
  /** Why it failed, asked only when giving up (e.g. the last answer seen). */
  failure: () => string;
  /** Keep polling when `find` throws (a backend still starting), instead of failing at once. */
  retryErrors?: boolean;
}

/**
 * Polls `find` until it returns something, or fails after `timeoutMs`:
 * for what arrives asynchronously (scrapes, exported spans, shipped logs).
 * A bound on waiting, never an assertion on speed.
 */
export async function eventually<T>(find: () => Promise<T | undefined> | T | undefined, options: EventuallyOptions): Promise<T> {
  const giveUpAt = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const found = await find();
      if (found !== undefined) return found;
    } catch (error) {
      if (!options.retryErrors) throw error;
      lastError = error;
    }
    if (Date.now() > giveUpAt)
      throw new Error(`${options.failure()}${lastError === undefined ? '' : ` (last error: ${String(lastError)})`}`);
    await sleep(options.intervalMs);
  }
}
