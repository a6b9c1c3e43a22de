// First: tracing must patch grpc-js and pg before anything loads them.
import { exportedSpans, waitForSpans } from '@platform/testing/memory-tracing';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SERVICE_NAME as ORDER, startOrderService } from '@platform/order-service';
import {
  freePort,
  startUserAndOrder,
  type UserAndOrder,
  runToExit,
  sampleValue,
  scrapeMetrics,
  startInProcess,
  testConfig,
  type Sample,
} from '@platform/testing';
import { SERVICE_NAME as USER, startUserService } from '@platform/user-service';
import { runTraffic, type Summary, type TrafficOptions } from '../src';

const MAIN = path.resolve(__dirname, '../src/main.js');

function handled(samples: Sample[], method: string, code?: string): number {
  return samples
    .filter(
      (s) =>
        s.name === 'grpc_server_handled_total' && s.labels.grpc_method === method && (code === undefined || s.labels.grpc_code === code),
    )
    .reduce((sum, s) => sum + s.value, 0);
}

const runCli = (args: string[]) => runToExit(process.execPath, [MAIN, ...args]);

describe('the traffic generator against running services', () => {
  let platform: UserAndOrder;
  let options: TrafficOptions;

  before(async () => {
    platform = await startUserAndOrder({ user: { name: USER, start: startUserService }, order: { name: ORDER, start: startOrderService } });
    options = {
      userAddr: platform.user.address,
      orderAddr: platform.order.address,
      rate: 50,
      count: 40,
      concurrency: 10,
      seed: 20261121,
      scenario: 'mixed',
      errorRate: 0.2,
      deadlineMs: 10_000,
      jaegerUrl: 'http://jaeger.example:16686',
    };
  });

  after(() => platform?.stop());

  it('reports what the servers counted, method by method and code by code', async () => {
    const userBefore = (await scrapeMetrics(platform.user.telemetry.metricsPort)).samples;
    const orderBefore = (await scrapeMetrics(platform.order.telemetry.metricsPort)).samples;
    const summary = await runTraffic(options);

    assert.equal(summary.scenarios.completed, 40);
    assert.equal(
      Object.values(summary.methods).reduce((sum, m) => sum + m.count, 0),
      summary.calls,
    );
    for (const [method, m] of Object.entries(summary.methods)) {
      assert.equal(
        Object.values(m.codes).reduce((a, b) => a + b, 0),
        m.count,
        method,
      );
      assert.ok(m.latency.minMs <= m.latency.p50Ms && m.latency.p50Ms <= m.latency.p99Ms, method);
    }
    assert.ok(
      summary.codes['InvalidArgument']! > 0 && summary.codes['NotFound']! > 0 && summary.codes['FailedPrecondition']! > 0,
      JSON.stringify(summary.codes),
    );
    assert.equal(summary.unexpectedErrors.count, 0, JSON.stringify(summary.unexpectedErrors.samples));

    // The servers record a call when it ends; the WatchOrders cancellation may land a moment later.
    const deadline = Date.now() + 10_000;
    let userAfter: Sample[] = [];
    let orderAfter: Sample[] = [];
    do {
      userAfter = (await scrapeMetrics(platform.user.telemetry.metricsPort)).samples;
      orderAfter = (await scrapeMetrics(platform.order.telemetry.metricsPort)).samples;
    } while (handled(orderAfter, 'WatchOrders') - handled(orderBefore, 'WatchOrders') < 1 && Date.now() < deadline);

    const clientCalls = (samples: Sample[], code: string) =>
      sampleValue(samples, 'grpc_client_handled_total', { grpc_method: 'GetUser', grpc_code: code });
    for (const [method, m] of Object.entries(summary.methods)) {
      const [after, before] = ['CreateUser', 'GetUser', 'ListUsers'].includes(method) ? [userAfter, userBefore] : [orderAfter, orderBefore];
      // The summary names codes as the grpc_code label does: no translation between them.
      for (const [code, count] of Object.entries(m.codes)) {
        let serverCount = handled(after, method, code) - handled(before, method, code);
        // Order asks User about every order it is given; those GetUser calls are not the generator's.
        if (method === 'GetUser') serverCount -= clientCalls(orderAfter, code) - clientCalls(orderBefore, code);
        assert.equal(serverCount, count, `${method} ${code}`);
      }
    }
  });

  it('links its notable calls to traces that were recorded, rooted in the generator', async () => {
    const summary: Summary = await runTraffic({ ...options, count: 10 });
    const { slowest, failed, streaming } = summary.traces;
    for (const call of [slowest, failed, streaming]) {
      assert.ok(call?.traceId, JSON.stringify(summary.traces));
      assert.equal(call.jaegerUrl, `http://jaeger.example:16686/trace/${call.traceId}`);
      const root = await waitForSpans((spans) =>
        spans.find((span) => span.spanContext().traceId === call.traceId && span.parentSpanContext === undefined),
      );
      assert.match(root.name, /^scenario /);
      const server = await waitForSpans((spans) =>
        spans.find((span) => span.spanContext().traceId === call.traceId && span.kind === 1 && span.name.endsWith(call.method)),
      );
      assert.ok(server, `a server span for ${call.method} in trace ${call.traceId}`);
    }
    assert.ok(exportedSpans.getFinishedSpans().length > 0);
  });

  it('repeats the same mix for the same seed', async () => {
    const shape = (summary: Summary) => Object.fromEntries(Object.entries(summary.methods).map(([method, m]) => [method, m.codes]));
    const first = await runTraffic({ ...options, scenario: 'shopper', count: 15, concurrency: 1 });
    const second = await runTraffic({ ...options, scenario: 'shopper', count: 15, concurrency: 1 });
    assert.deepEqual(shape(second), shape(first));
    const other = await runTraffic({ ...options, scenario: 'shopper', count: 15, concurrency: 1, seed: 7 });
    assert.notDeepEqual(shape(other), shape(first), 'another seed, another mix');
  });

  it('as a command: prints the summary, writes JSON, and exits by the unexpected-error rate', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'traffic-'));
    const ok = await runCli([
      '--user-addr',
      platform.user.address,
      '--order-addr',
      platform.order.address,
      '--count',
      '5',
      '--rate',
      '20',
      '--seed',
      '1',
      '--json',
      path.join(dir, 'summary.json'),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Latency \(ms\):/);
    assert.match(ok.stdout, /Status code distribution:/);
    const written = JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8')) as Summary;
    assert.equal(written.scenarios.completed, 5);

    // Order with a dead User behind it: every order is UNAVAILABLE, an unexpected error.
    const stranded = await startInProcess(ORDER, startOrderService, {
      ...testConfig(),
      userServiceAddr: `127.0.0.1:${await freePort()}`,
      userServiceTimeoutMs: 2000,
    });
    try {
      const failing = await runCli([
        '--user-addr',
        platform.user.address,
        '--order-addr',
        stranded.address,
        '--count',
        '3',
        '--scenario',
        'shopper',
        '--max-error-rate',
        '0.05',
      ]);
      assert.equal(failing.code, 1, failing.stderr);
      assert.match(failing.stdout, /Unexpected errors: [1-9]/);
      assert.match(
        failing.stdout,
        /\d+ x CreateOrder Unavailable: the user service is unavailable/,
        'identical errors are grouped with a count',
      );
      assert.match(failing.stderr, /exceeds --max-error-rate/);
    } finally {
      await stranded.stop();
    }
  });

  it('as a command: says clearly when a target is unreachable, without a stack trace', async () => {
    const result = await runCli(['--user-addr', `127.0.0.1:${await freePort()}`, '--count', '1']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /cannot reach the user service at 127\.0\.0\.1:\d+/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
});
