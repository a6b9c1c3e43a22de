import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import type { BenchResults, TaxEntry } from '../src/results';

const MAIN = path.resolve(__dirname, '../src/main.js');
const COMPARE = path.resolve(__dirname, '../src/compare.js');
const finite = (value: number) => Number.isFinite(value) && value > 0;
/** Server CPU per call is read from /proc (Linux). */
const hasProc = existsSync('/proc/self/stat');

/**
 * Keeps the harness working: a seconds-long run must produce every section of
 * the report. What the numbers are is for `npm run bench`, never asserted here.
 */
it('produces a complete report in smoke mode', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'bench-'));
  const child = spawn(process.execPath, [MAIN, '--smoke', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0, stderr);

  const results = JSON.parse(await readFile(path.join(out, 'smoke.json'), 'utf8')) as BenchResults;
  for (const name of ['all', 'allSampled', 'tracingOnly', 'metricsOnly', 'loggingOnly']) {
    const entry = (results.observabilityTax as Record<string, TaxEntry>)[name];
    assert.ok(entry && finite(entry.maxThroughput.median) && finite(entry.p99AtHalfLoad.median), name);
    if (hasProc) assert.ok(entry.cpuCapacity && finite(entry.cpuCapacity.median), `${name}: server CPU per call measured`);
  }
  for (const method of ['GetUser', 'CreateOrder']) {
    const entry = results.grpcVersusJson[method]!;
    assert.ok(entry.grpcBytesPerCall > 0 && entry.jsonBytesPerCall > 0 && finite(entry.throughputRatio.median), method);
  }
  assert.ok(finite(results.scrapeImpact.p99Ratio.median));
  assert.ok(finite(results.stuckLogBackend.p99Ratio.median) && finite(results.stuckLogBackend.maxRatio.median), 'stuck log backend');
  for (const name of ['off', 'allSampled', 'all']) {
    const entry = results.frameworkOverhead[name];
    assert.ok(entry && finite(entry.throughputRatio.median), `framework overhead ${name}`);
    if (hasProc)
      assert.ok(
        entry.cpuCapacityRatio && finite(entry.cpuCapacityRatio.median),
        `framework overhead ${name}: server CPU per call measured`,
      );
  }
  const markdown = await readFile(path.join(out, 'smoke.md'), 'utf8');
  for (const heading of ['Observability tax', 'gRPC against JSON', 'Scrape impact', 'Stuck log backend', 'Framework overhead'])
    assert.match(markdown, new RegExp(heading));
  for (const failures of Object.values(results.raw)
    .flat()
    .map((result) => result.failed))
    assert.equal(failures, 0, 'no call failed');
});

/** Keeps the before/after tool working: this checkout against itself, one short round. */
it('compares this checkout against a baseline checkout', async () => {
  const checkout = path.resolve(__dirname, '../../..');
  const child = spawn(
    process.execPath,
    [COMPARE, '--baseline', checkout, '--rounds', '1', '--seconds', '0.5', '--telemetry', 'off,metricsOnly'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0, stderr);
  for (const name of ['off', 'metricsOnly']) {
    const row = new RegExp(`^\\| ${name} \\| (\\S+) \\(.*\\) \\| (\\S+) \\(.*\\) \\|$`, 'm').exec(stdout);
    assert.ok(row, `a row for ${name} in:\n${stdout}`);
    if (hasProc) assert.ok(finite(Number(row[1])), `${name}: CPU ratio ${row[1]}`);
    assert.ok(finite(Number(row[2])), `${name}: throughput ratio ${row[2]}`);
  }
});
