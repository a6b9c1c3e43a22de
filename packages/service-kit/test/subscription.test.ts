import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, Code, subscription } from '../src';

/** Reads `stream` to its end, which must be a failure with `code`; resolves with what arrived before it. */
async function readUntilFailure<T>(stream: AsyncIterable<T>, code: Code): Promise<T[]> {
  const received: T[] = [];
  await assert.rejects(
    (async () => {
      for await (const item of stream) received.push(item);
    })(),
    (error: unknown) => error instanceof AppError && error.code === code,
  );
  return received;
}

describe('subscription', () => {
  it('yields pushed items in order and stops delivery when aborted', async () => {
    const controller = new AbortController();
    let push: (n: number) => void = () => undefined;
    let stopped = false;
    const stream = subscription<number>({
      start: async (p) => {
        push = p;
        return () => (stopped = true);
      },
      signal: controller.signal,
      maxBacklog: 10,
    });
    const received: number[] = [];
    const reading = (async () => {
      for await (const n of stream) {
        received.push(n);
        if (received.length === 3) controller.abort();
      }
    })();
    await new Promise(setImmediate);
    [1, 2, 3, 4].forEach((n) => push(n));
    await reading;
    assert.deepEqual(received, [1, 2, 3]);
    assert.equal(stopped, true);
  });

  it('sends what was pushed before a failure, then ends with the failure', async () => {
    const stream = subscription<number>({
      start: async (push, fail) => {
        push(1);
        push(2);
        fail(AppError.unavailable('the source lost its connection'));
        push(3);
        return () => undefined;
      },
      signal: new AbortController().signal,
      maxBacklog: 10,
    });
    assert.deepEqual(await readUntilFailure(stream, Code.UNAVAILABLE), [1, 2]);
  });

  it('fails with RESOURCE_EXHAUSTED when a reader falls too far behind', async () => {
    const stream = subscription<number>({
      start: async (push) => {
        for (let n = 0; n < 5; n++) push(n);
        return () => undefined;
      },
      signal: new AbortController().signal,
      maxBacklog: 2,
    });
    assert.deepEqual(await readUntilFailure(stream, Code.RESOURCE_EXHAUSTED), [0, 1]);
  });
});
