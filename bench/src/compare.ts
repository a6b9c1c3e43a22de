/**
 * npm run bench:compare -- --baseline DIR [--rounds N] [--seconds S] [--telemetry off,all,...]
 *                          [--node this|image|x.y.z] [--generator node|h2load]
 *
 * Before/after for a change: user-service of this checkout against the one of
 * another, built checkout (`git worktree add ../before <commit>`, then
 * `npm ci && npm run build` there), under the same telemetry settings. The two
 * alternate within every round, and which goes first alternates between
 * rounds, so the drift of a shared machine falls on both. Reported: server CPU
 * per call and throughput, this checkout over the baseline, median and spread
 * of the per-round ratios (below 1.000 for CPU means this checkout is cheaper).
 * Both run on one Node.js (this one by default; `image` is the Dockerfile's)
 * under one load generator.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pin, startBulkSink, startOtlpSink } from './infrastructure';
import { resolveRuntimes } from './runtimes';
import { formatRatio, ratioSummary, ratioSummaryIfAny } from './stats';
import { CLIENT_CPU, generatorsFrom, maxLoad, startUserService, telemetryEnvironments } from './user-service';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    telemetry: { type: 'string', default: 'off,all,tracingOnly,metricsOnly,loggingOnly' },
    node: { type: 'string', default: 'this' },
    generator: { type: 'string', default: 'node' },
  },
});

const log = (line: string) => process.stderr.write(`bench:compare: ${line}\n`);

async function main(): Promise<void> {
  if (!values.baseline) throw new Error('--baseline DIR is required: a built checkout to compare this one against');
  const baseline = path.resolve(values.baseline);
  if (!existsSync(path.join(baseline, 'services/user/dist/src/main.js')))
    throw new Error(`${baseline} is not a built checkout (npm ci && npm run build there)`);
  const rounds = Number(values.rounds);
  const durationMs = Number(values.seconds) * 1000;
  pin(process.pid, CLIENT_CPU);
  const [runtime] = resolveRuntimes([values.node]);
  const generators = generatorsFrom(values.generator);
  if (generators.length !== 1) throw new Error('--generator takes one load generator: node or h2load');
  const generator = generators[0]!;

  const otlp = await startOtlpSink();
  const bulk = await startBulkSink();
  const environments = telemetryEnvironments(otlp.url, bulk.url);
  const names = values.telemetry.split(',').map((name) => name.trim());
  for (const name of names)
    if (!environments[name]) throw new Error(`unknown telemetry setting ${name}; one of ${Object.keys(environments).join(', ')}`);

  const checkouts = { this: undefined, baseline } as const;
  const ratios = Object.fromEntries(names.map((name) => [name, { cpu: [] as number[], throughput: [] as number[] }]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const order = round % 2 === 0 ? (['this', 'baseline'] as const) : (['baseline', 'this'] as const);
      const measured: Partial<Record<'this' | 'baseline', { cpu: number | undefined; throughput: number }>> = {};
      for (const which of order) {
        log(`round ${round + 1}: ${name}, ${which}`);
        const target = await startUserService({ env: environments[name]!, checkout: checkouts[which], runtime, warmUpMs: 1000 });
        const result = await maxLoad(
          generator,
          { call: target.getUser, onWire: target.getUserOnWire },
          { durationMs, serverPid: target.process.child.pid },
        );
        measured[which] = { cpu: result.serverCpuUsPerCall, throughput: result.throughput };
        await target.stop();
      }
      const entry = ratios[name]!;
      entry.throughput.push(measured.this!.throughput / measured.baseline!.throughput);
      if (measured.this!.cpu !== undefined && measured.baseline!.cpu !== undefined)
        entry.cpu.push(measured.this!.cpu / measured.baseline!.cpu);
    }
  }
  otlp.close();
  await bulk.close();

  const lines = [
    `This checkout against ${baseline} on ${runtime!.label}, load from ${generator}: ${rounds} rounds, ${values.seconds} s per measurement,`,
    'ratios this/baseline as median (min–max).',
    '',
    '| Telemetry | Server CPU per call ratio | Throughput ratio |',
    '| --- | --- | --- |',
    ...names.map(
      (name) =>
        `| ${name} | ${formatRatio(ratioSummaryIfAny(ratios[name]!.cpu))} | ${formatRatio(ratioSummary(ratios[name]!.throughput))} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:compare: failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
