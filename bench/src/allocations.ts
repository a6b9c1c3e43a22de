/**
 * npm run bench:allocations -- [--telemetry off|all|...] [--seconds S] [--node this|image|x.y.z] [--json]
 *
 * Bytes allocated per GetUser in user-service (in-memory storage), by package
 * and by function: V8's sampling heap profiler in the service process
 * (allocation-sampler.ts), counting objects the garbage collector has freed as
 * well, over a saturating h2load run after warm-up. Allocation is what the
 * garbage collector's share of each call's CPU comes from; this says whose
 * it is.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { eventually } from '@platform/testing';
import { startBulkSink, startOtlpSink } from './infrastructure';
import { resolveRuntimes } from './runtimes';
import { maxLoad, startUserService, telemetryEnvironments } from './user-service';

const SAMPLER = path.resolve(__dirname, 'allocation-sampler.js');
/** Functions listed, the largest first. */
const TOP_FUNCTIONS = 25;

/** The part of the Chrome DevTools protocol's SamplingHeapProfile this reads. */
interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** What allocation-sampler.ts writes: the profile, or why there is none. */
type SamplerOutput = { head: ProfileNode } | { error: string };

export interface AllocationReport {
  telemetry: string;
  runtime: string;
  calls: number;
  bytesPerCall: number;
  byPackage: { name: string; bytesPerCall: number }[];
  byFunction: { name: string; bytesPerCall: number }[];
}

/** node_modules/@grpc/grpc-js/… → @grpc/grpc-js; packages/telemetry/… → @platform/telemetry; node:internal/http2/core → node:http2. */
function packageOf(url: string): string {
  if (url === '') return '(V8 and native)';
  if (url.startsWith('node:')) {
    const parts = url.slice('node:'.length).split('/');
    return `node:${parts[0] === 'internal' ? (parts[1] ?? 'internal') : parts[0]}`;
  }
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1]!;
  const workspace = /\/(packages|services)\/([^/]+)\//.exec(url);
  return workspace ? (workspace[1] === 'packages' ? `@platform/${workspace[2]}` : workspace[2]!) : url;
}

/** A function, where it is: `fromHttp2Headers @grpc/grpc-js/build/src/metadata.js:228`. */
function functionOf({ functionName, url, lineNumber }: ProfileNode['callFrame']): string {
  const where = url.replace(/^.*node_modules\//, '').replace(/^.*\/(packages|services)\//, '$1/');
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
}

function summarise(head: ProfileNode, calls: number): Pick<AllocationReport, 'bytesPerCall' | 'byPackage' | 'byFunction'> {
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  const visit = (node: ProfileNode) => {
    if (node.selfSize > 0) {
      total += node.selfSize;
      const name = packageOf(node.callFrame.url);
      byPackage.set(name, (byPackage.get(name) ?? 0) + node.selfSize);
      const fn = functionOf(node.callFrame);
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + node.selfSize);
    }
    for (const child of node.children) visit(child);
  };
  visit(head);
  const perCall = (bytes: number) => Math.round(bytes / calls);
  const ranked = (map: Map<string, number>) =>
    [...map].sort((a, b) => b[1] - a[1]).map(([name, bytes]) => ({ name, bytesPerCall: perCall(bytes) }));
  return { bytesPerCall: perCall(total), byPackage: ranked(byPackage), byFunction: ranked(byFunction).slice(0, TOP_FUNCTIONS) };
}

export async function measureAllocations(options: { telemetry: string; seconds: number; node: string }): Promise<AllocationReport> {
  const [runtime] = resolveRuntimes([options.node]);
  const otlp = await startOtlpSink();
  const bulk = await startBulkSink();
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-allocations-'));
  const profileFile = path.join(dir, 'profile.json');
  try {
    const env = telemetryEnvironments(otlp.url, bulk.url)[options.telemetry];
    if (!env) throw new Error(`unknown telemetry setting ${options.telemetry}`);
    const service = await startUserService({
      env: { ...env, ALLOCATION_PROFILE: profileFile },
      runtime,
      nodeArgs: ['--require', SAMPLER],
      warmUpMs: Math.min(1000, options.seconds * 1000),
    });
    try {
      service.process.child.kill('SIGUSR2');
      const load = await maxLoad(
        'h2load',
        { call: service.getUser, onWire: service.getUserOnWire },
        { durationMs: options.seconds * 1000 },
      );
      service.process.child.kill('SIGUSR2');
      const profile = await eventually(
        () => (existsSync(profileFile) ? (JSON.parse(readFileSync(profileFile, 'utf8')) as SamplerOutput) : undefined),
        {
          timeoutMs: 30_000,
          intervalMs: 100,
          failure: () => 'the service wrote no allocation profile',
        },
      );
      if ('error' in profile) throw new Error(`sampling failed: ${profile.error}`);
      if (load.ok === 0) throw new Error('no call succeeded under load');
      return {
        telemetry: options.telemetry,
        runtime: runtime!.label,
        calls: load.ok,
        ...summarise(profile.head, load.ok),
      };
    } finally {
      await service.stop();
    }
  } finally {
    otlp.close();
    await bulk.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function formatMarkdown(report: AllocationReport): string {
  const rows = (entries: { name: string; bytesPerCall: number }[]) =>
    entries.map(({ name, bytesPerCall }) => `| ${name} | ${bytesPerCall} |`);
  return [
    `Allocated per GetUser: ${report.bytesPerCall} bytes (${report.telemetry}, ${report.runtime}, ${report.calls} calls under h2load).`,
    '',
    '| Package | Bytes per call |',
    '| --- | --- |',
    ...rows(report.byPackage.filter((entry) => entry.bytesPerCall > 0)),
    '',
    '| Function | Bytes per call |',
    '| --- | --- |',
    ...rows(report.byFunction),
  ].join('\n');
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      telemetry: { type: 'string', default: 'off' },
      seconds: { type: 'string', default: '5' },
      node: { type: 'string', default: 'this' },
      json: { type: 'boolean', default: false },
    },
  });
  measureAllocations({ telemetry: values.telemetry!, seconds: Number(values.seconds), node: values.node! }).then(
    (report) => process.stdout.write(`${values.json ? JSON.stringify(report) : formatMarkdown(report)}\n`),
    (error: unknown) => {
      process.stderr.write(`bench:allocations: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
