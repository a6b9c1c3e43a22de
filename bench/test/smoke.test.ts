import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { runToExit } from '@platform/testing';
import type { AllocationReport } from '../src/allocations';
import type { BenchResults } from '../src/results';
import { imageNodeVersion } from '../src/runtimes';

const MAIN = path.resolve(__dirname, '../src/main.js');
const COMPARE = path.resolve(__dirname, '../src/compare.js');
const ALLOCATIONS = path.resolve(__dirname, '../src/allocations.js');
const finite = (value: number) => Number.isFinite(value) && value > 0;
/** Server CPU per call is read from /proc (Linux). */
const hasProc = existsSync('/proc/self/stat');

/**
 * Keeps the harness working: a seconds-long run must produce every section of
 * the report, on both runtimes (this Node.js and the image's) and from both
 * load generators. What the numbers are is for `npm run bench`, never
 * asserted here.
 */
it("produces a complete report in smoke mode, on this Node.js and the image's, from both generators", async (t) => {
  const out = await mkdtemp(path.join(tmpdir(), 'bench-'));
  const { code, stderr } = await runToExit(process.execPath, [MAIN, '--smoke', '--out', out], { signal: t.signal });
  assert.equal(code, 0, stderr);

  const results = JSON.parse(await readFile(path.join(out, 'smoke.json'), 'utf8')) as BenchResults;
  const runtimes = [`Node ${process.version.slice(1)}`, `Node ${imageNodeVersion()}`];
  assert.deepEqual(results.runtimes, [...new Set(runtimes)]);
  assert.deepEqual(results.generators, ['node', 'h2load']);
  for (const runtime of results.runtimes) {
    for (const generator of results.generators) {
      const tax = results.observabilityTax[runtime]?.[generator];
      assert.ok(tax && tax.baselineMaxThroughput > 0, `${runtime}, ${generator}: telemetry off measured`);
      for (const name of ['all', 'allSampled', 'tracingOnly', 'tracingUnsampled', 'metricsOnly', 'loggingOnly']) {
        const entry = tax.entries[name];
        assert.ok(entry && finite(entry.maxThroughput.median) && finite(entry.p99AtHalfLoad.median), `${runtime}, ${generator}: ${name}`);
        if (hasProc)
          assert.ok(entry.cpuCapacity && finite(entry.cpuCapacity.median), `${runtime}, ${generator}, ${name}: server CPU per call`);
      }
      const framework = results.frameworkOverhead[runtime]?.[generator];
      for (const name of ['off', 'allSampled', 'all']) {
        const entry = framework?.entries[name];
        assert.ok(entry && finite(entry.throughputRatio.median), `${runtime}, ${generator}: framework overhead ${name}`);
        if (hasProc)
          assert.ok(
            entry.cpuCapacityRatio && finite(entry.cpuCapacityRatio.median),
            `${runtime}, ${generator}: framework overhead ${name}, server CPU per call`,
          );
      }
    }
    for (const method of ['GetUser', 'CreateOrder']) {
      const entry = results.grpcVersusJson[runtime]?.[method];
      assert.ok(
        entry && entry.grpcBytesPerCall > 0 && entry.jsonBytesPerCall > 0 && finite(entry.throughputRatio.median),
        `${runtime}: ${method}`,
      );
    }
    assert.ok(finite(results.scrapeImpact[runtime]!.p99Ratio.median), `${runtime}: scrape impact`);
    const stuck = results.stuckLogBackend[runtime]!;
    assert.ok(finite(stuck.p99Ratio.median) && finite(stuck.maxRatio.median), `${runtime}: stuck log backend`);
  }
  const pieces = results.runtimes.map((runtime) => results.breakdown[runtime]!);
  for (const measured of pieces) {
    assert.deepEqual(
      measured.map((piece) => piece.name),
      pieces[0]!.map((piece) => piece.name),
    );
    for (const piece of measured) assert.ok(Number.isFinite(piece.microseconds), `${piece.name}: ${piece.microseconds}`);
  }
  assert.ok(pieces[0]!.length >= 10, 'every piece of the breakdown');
  const markdown = await readFile(path.join(out, 'smoke.md'), 'utf8');
  for (const heading of [
    'Observability tax',
    'gRPC against JSON',
    'Scrape impact',
    'Stuck log backend',
    'Framework overhead',
    'Load from h2load',
    'Where the microseconds go',
  ])
    assert.match(markdown, new RegExp(heading));
  for (const runtime of results.runtimes) assert.match(markdown, new RegExp(`CPU capacity, ${runtime}`));
  const generatorsSeen = new Set<string>();
  for (const result of Object.values(results.raw).flat()) {
    assert.equal(result.failed, 0, 'no call failed');
    generatorsSeen.add(result.generator);
  }
  assert.deepEqual([...generatorsSeen].sort(), ['h2load', 'node']);
});

/** Keeps the before/after tool working: this checkout against itself, one short round, on the image's Node.js under h2load. */
it('compares this checkout against a baseline checkout', async (t) => {
  const checkout = path.resolve(__dirname, '../../..');
  const { code, stdout, stderr } = await runToExit(
    process.execPath,
    [
      COMPARE,
      '--baseline',
      checkout,
      '--rounds',
      '1',
      '--seconds',
      '0.5',
      '--telemetry',
      'off,metricsOnly',
      '--node',
      'image',
      '--generator',
      'h2load',
    ],
    { signal: t.signal },
  );
  assert.equal(code, 0, stderr);
  for (const name of ['off', 'metricsOnly']) {
    const row = new RegExp(`^\\| ${name} \\| (\\S+) \\(.*\\) \\| (\\S+) \\(.*\\) \\|$`, 'm').exec(stdout);
    assert.ok(row, `a row for ${name} in:\n${stdout}`);
    if (hasProc) assert.ok(finite(Number(row[1])), `${name}: CPU ratio ${row[1]}`);
    assert.ok(finite(Number(row[2])), `${name}: throughput ratio ${row[2]}`);
  }
});

/** Keeps the allocation profile working: half a second of h2load, telemetry off, on this Node.js. */
it('profiles what a call allocates, by package and by function', async (t) => {
  const { code, stdout, stderr } = await runToExit(process.execPath, [ALLOCATIONS, '--seconds', '0.5', '--json'], { signal: t.signal });
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout) as AllocationReport;
  assert.ok(report.calls > 0 && report.bytesPerCall > 0, `${report.calls} calls, ${report.bytesPerCall} bytes each`);
  assert.ok(
    report.byPackage.some((entry) => entry.name === '@grpc/grpc-js' && entry.bytesPerCall > 0),
    'grpc-js allocates on every call',
  );
  assert.ok(report.byFunction.length > 0);
});
