/**
 * A service whose stdout nobody reads, as when a container's log driver
 * stalls: its calls go on, what the reader cannot take is dropped and
 * counted, and SIGTERM still ends it within its telemetry flush budget (the
 * runtime would otherwise kill it at the end of the stop grace period).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { EchoServiceClient } from '@platform/contracts/echo/v1/echo';
import { freePort, sampleValue, scrapeMetrics, startServiceProcess, unary, type ServiceProcess } from '@platform/testing';

const MAIN = path.resolve(__dirname, 'echo/main.js');
/** Access lines of some 400 bytes: 40,000 calls write about twice the 8 MiB stdout may fall behind. */
const CALLS = 40_000;
const CONCURRENCY = 200;
/** Far beyond the 1 s flush budget: what a process that waits for its reader runs into. */
const GIVE_UP_MS = 30_000;

describe('a stdout nobody reads, through an echo-service process', () => {
  let dir: string;
  let fifo: number;
  let service: ServiceProcess;
  let stderr = '';

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'stalled-stdout-'));
    const file = path.join(dir, 'stdout');
    execFileSync('mkfifo', [file]);
    // Opened for reading and writing, so that opening does not wait for a reader; nothing reads it.
    fifo = openSync(file, 'r+');
    service = await startServiceProcess(
      MAIN,
      {
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(await freePort()),
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: String(await freePort()),
        LOG_LEVEL: 'info',
        OTEL_SDK_DISABLED: 'true',
        TELEMETRY_FLUSH_TIMEOUT_MS: '1000',
      },
      { stdoutFd: fifo },
    );
    service.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  });

  after(() => {
    service?.child.kill('SIGKILL');
    if (fifo !== undefined) closeSync(fifo);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every call, counts the lines it drops, and exits on SIGTERM within its flush budget', async () => {
    const client = new EchoServiceClient(`127.0.0.1:${service.port}`, credentials.createInsecure());
    const echo = unary(client, client.echo);
    let next = 0;
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < CALLS)
          await echo({ text: 'x'.repeat(100) }, { deadline: Date.now() + GIVE_UP_MS }).catch((error: Error) =>
            failures.push(error.message),
          );
      }),
    );
    client.close();
    assert.deepEqual(failures.slice(0, 3), [], `${failures.length} of ${CALLS} calls failed`);
    const { samples } = await scrapeMetrics(service.metricsPort);
    assert.ok(sampleValue(samples, 'log_stdout_lines_dropped_total') > 0, 'lines beyond the backlog were dropped and counted');

    const giveUp = new AbortController();
    const exit = await Promise.race([service.stop(), sleep(GIVE_UP_MS, 'still running' as const, { signal: giveUp.signal })]).finally(() =>
      giveUp.abort(),
    );
    assert.equal(exit, 0, `${GIVE_UP_MS} ms after SIGTERM: ${String(exit)}\n${stderr}`);
    assert.match(stderr, /log lines stdout's reader had not taken within \d+ ms were dropped/);
  });
});
