import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Client } from '@grpc/grpc-js';
import { channelCredentials, onStopSignals, runCommand, UsageError } from '@platform/service-kit';
import { closeTracing } from '@platform/telemetry/tracing';
import { SingleBar } from 'cli-progress';
import { runTraffic, type Progress } from './engine';
import { parseOptions, USAGE, type CliOptions } from './options';
import { formatSummary } from './report';

/** Fails with a sentence, not a stack trace, when a target does not answer. */
async function assertReachable(name: string, address: string, options: CliOptions): Promise<void> {
  const client = new Client(address, channelCredentials(options));
  try {
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5000, (error) => (error ? reject(error) : resolve())));
  } catch {
    throw new UsageError(`cannot reach the ${name} service at ${address} (no connection within 5 s); is it running? Set --${name}-addr.`);
  } finally {
    client.close();
  }
}

function progressDisplay(options: CliOptions): { update(progress: Progress): void; stop(): void } {
  const total = options.count ?? Math.ceil((options.durationMs ?? 0) / 1000);
  const byCount = options.count !== undefined;
  if (process.stderr.isTTY && total > 0) {
    const bar = new SingleBar({
      format: `{bar} {percentage}% | {value}/{total} ${byCount ? 'scenarios' : 's'} | {calls} calls | {unexpected} unexpected`,
      stream: process.stderr,
      hideCursor: true,
    });
    bar.start(total, 0, { calls: 0, unexpected: 0 });
    return {
      update: (p) =>
        bar.update(byCount ? p.completed : Math.min(total, Math.floor(p.elapsedMs / 1000)), { calls: p.calls, unexpected: p.unexpected }),
      stop: () => bar.stop(),
    };
  }
  // No terminal (Compose logs, CI): one plain line every few seconds.
  let lastLine = 0;
  return {
    update: (p) => {
      if (p.elapsedMs - lastLine < 5000) return;
      lastLine = p.elapsedMs;
      process.stderr.write(
        `traffic: ${(p.elapsedMs / 1000).toFixed(0)} s, ${p.completed}/${p.started} scenarios, ${p.calls} calls, ${p.unexpected} unexpected\n`,
      );
    },
    stop: () => undefined,
  };
}

async function main(): Promise<number> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const options = parseOptions(process.argv.slice(2), process.env);
  await assertReachable('user', options.userAddr, options);
  await assertReachable('order', options.orderAddr, options);
  process.stderr.write(`traffic: ${options.scenario} at ${options.rate}/s, seed ${options.seed}; Ctrl-C stops with a summary\n`);

  const interrupted = new AbortController();
  onStopSignals(() => {
    process.stderr.write('\ntraffic: stopping; waiting for scenarios in flight (Ctrl-C again to quit now)\n');
    interrupted.abort();
  });

  const display = progressDisplay(options);
  const beat = () => options.heartbeatFile && writeFileSync(options.heartbeatFile, `${new Date().toISOString()}\n`);
  beat();
  const summary = await runTraffic(options, {
    signal: interrupted.signal,
    onProgress: (progress) => {
      display.update(progress);
      beat();
    },
  });
  display.stop();
  process.stdout.write(`${formatSummary(summary)}\n`);
  if (options.json) await writeFile(options.json, `${JSON.stringify(summary, null, 2)}\n`);
  await closeTracing().catch(() => undefined);

  if (summary.unexpectedErrors.rate > options.maxErrorRate) {
    process.stderr.write(
      `traffic: ${(summary.unexpectedErrors.rate * 100).toFixed(2)}% unexpected errors exceeds --max-error-rate ${options.maxErrorRate * 100}%\n`,
    );
    return 1;
  }
  return 0;
}

runCommand(main, { name: 'traffic', usage: USAGE, usageExitCode: 2 });
