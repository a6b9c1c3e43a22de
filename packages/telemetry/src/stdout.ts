import { pino, type DestinationStream } from 'pino';

/** How far stdout's reader may fall behind, in bytes of log lines, before lines are dropped: what the Elasticsearch shipper holds. */
export const STDOUT_MAX_BACKLOG_BYTES = 8 * 1024 * 1024;

/**
 * Log lines to stdout through pino's sonic-boom, which writes asynchronously
 * so that a slow reader never holds up a call; bounded, because sonic-boom
 * alone keeps whatever a stalled reader (a blocked log driver, a harness that
 * stopped reading) has not taken, without limit, and waits for it forever
 * when the process exits, past any stop grace period. Here lines beyond the
 * backlog are dropped and counted, and close() waits at most its budget.
 */
export class StdoutLines implements DestinationStream {
  /** Lines not written: the reader was too far behind, or they came after close(). */
  dropped = 0;
  private readonly stream: ReturnType<typeof pino.destination>;
  private closing: Promise<'flushed' | 'abandoned'> | undefined;

  constructor(options: { fd?: number; maxBacklogBytes?: number } = {}) {
    this.stream = pino.destination({
      // Through process.stdout, as pino's default does: opening it puts a pipe in non-blocking mode (libuv), so a
      // write to a stalled reader fails with EAGAIN and sonic-boom retries it later. On a blocking pipe the write
      // would hold a thread of libuv's pool forever, and the process's exit waits for that thread.
      dest: options.fd ?? process.stdout.fd,
      sync: false,
      maxLength: options.maxBacklogBytes ?? STDOUT_MAX_BACKLOG_BYTES,
      // Lines as buffers, kept in a list until written: in its text mode sonic-boom appends each line to one string
      // and measures that string's bytes on every write, which copies the whole backlog (about 8 KB a line under
      // load: npm run bench:allocations).
      contentMode: 'buffer',
    });
    this.stream.on('drop', () => this.dropped++);
  }

  write(line: string): void {
    if (this.closing) this.dropped++;
    // sonic-boom's types know only its text mode; in buffer mode write takes a Buffer.
    else this.stream.write(Buffer.from(line) as unknown as string);
  }

  /**
   * Resolves 'flushed' once the reader has taken every line, or 'abandoned'
   * after `timeoutMs`: what it had not taken is given up, so that the exit
   * does not wait for it either.
   */
  close(timeoutMs: number): Promise<'flushed' | 'abandoned'> {
    this.closing ??= (async () => {
      const stream = this.stream;
      const closed = new Promise<'flushed'>((resolve) => stream.once('close', () => resolve('flushed')));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'abandoned'>((resolve) => (timer = setTimeout(() => resolve('abandoned'), timeoutMs)));
      stream.end();
      const outcome = await Promise.race([closed, late]);
      clearTimeout(timer);
      if (outcome === 'abandoned') stream.destroy();
      return outcome;
    })();
    return this.closing;
  }
}
