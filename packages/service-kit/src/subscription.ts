import { AppError, Code } from './errors';

export interface SubscriptionOptions<Item> {
  /**
   * Starts delivering items to push; resolves once delivery is live, with a
   * function that stops it. `fail` ends the stream with that error once the
   * items pushed before it are sent (the source can no longer deliver every item).
   */
  start: (push: (item: Item) => void, fail: (error: unknown) => void) => Promise<() => void>;
  /** Ends the stream quietly (the caller cancelled or the server stops). */
  signal: AbortSignal;
  /** Items a slow reader may fall behind by before its stream fails with RESOURCE_EXHAUSTED. */
  maxBacklog: number;
  /** Called once delivery is live, e.g. to send response headers so the caller knows. */
  onLive?: () => void;
}

/** A push subscription as an async iterable that a streaming handler can yield from. */
export async function* subscription<Item>(options: SubscriptionOptions<Item>): AsyncGenerator<Item> {
  const backlog: Item[] = [];
  let overflowed = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const stop = await options.start(
    (item) => {
      if (failure) return;
      if (backlog.length >= options.maxBacklog) overflowed = true;
      else backlog.push(item);
      notify();
    },
    (error) => {
      failure ??= { error };
      notify();
    },
  );
  options.signal.addEventListener('abort', notify, { once: true });
  try {
    options.onLive?.();
    while (!options.signal.aborted) {
      const item = backlog.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (failure) throw failure.error;
      if (overflowed) {
        throw new AppError(Code.RESOURCE_EXHAUSTED, `stream fell more than ${options.maxBacklog} events behind; resubscribe`);
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    options.signal.removeEventListener('abort', notify);
    stop();
  }
}
