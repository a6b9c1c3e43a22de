import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Counter, Histogram } from 'prom-client';
import { createRegistry, grpcCodeName, MetricsServer, type MetricsRegistry } from '../src';

function get(port: number, path: string, accept?: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: accept ? { accept } : {} }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metrics endpoint', () => {
  let registry: MetricsRegistry;
  let server: MetricsServer;
  let port: number;

  before(async () => {
    registry = createRegistry();
    const latency = new Histogram({ name: 'demo_seconds', help: 'demo', buckets: [0.1, 1], enableExemplars: true, registers: [registry] });
    latency.observe({ labels: {}, value: 0.05, exemplarLabels: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' } });
    new Counter({ name: 'demo_calls_total', help: 'demo', registers: [registry] }).inc(2);
    server = new MetricsServer(registry);
    port = await server.listen(0, '127.0.0.1');
  });
  after(() => server.close());

  it('serves OpenMetrics with exemplars to a scraper that asks for it', async () => {
    const response = await get(port, '/metrics', 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5');
    assert.equal(response.status, 200);
    assert.match(response.contentType, /^application\/openmetrics-text/);
    assert.match(response.body, /demo_seconds_bucket\{le="0.1"\} 1 # \{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"\} 0.05/);
    assert.match(response.body, /# EOF\n$/);
  });

  it('serves the classic text format, without exemplars, to anyone else', async () => {
    const response = await get(port, '/metrics');
    assert.equal(response.status, 200);
    assert.match(response.contentType, /^text\/plain; version=0.0.4/);
    assert.match(response.body, /demo_seconds_bucket\{le="0.1"\} 1\n/);
    assert.doesNotMatch(response.body, /trace_id|# EOF/);
    assert.match(response.body, /nodejs_eventloop_lag_seconds/, 'runtime metrics are collected');
  });

  it('names counters with _total in both formats, whatever order and concurrency the scrapes come in', async () => {
    const openMetrics = 'application/openmetrics-text;version=1.0.0';
    const responses = await Promise.all([
      get(port, '/metrics', openMetrics),
      get(port, '/metrics'),
      get(port, '/metrics', openMetrics),
      get(port, '/metrics'),
    ]);
    for (const response of responses) {
      assert.match(response.body, /^demo_calls_total 2$/m, response.contentType);
      assert.doesNotMatch(response.body, /^demo_calls /m, response.contentType);
    }
    assert.match(responses[0]!.body, /# EOF\n$/);
    assert.match(responses[0]!.body, /trace_id/);
    assert.doesNotMatch(responses[1]!.body, /# EOF|trace_id/);
  });

  it('answers 404 elsewhere', async () => {
    assert.equal((await get(port, '/')).status, 404);
    assert.equal((await get(port, '/metrics/extra')).status, 404);
  });
});

describe('gRPC code names', () => {
  it('match go-grpc-prometheus (Go code names)', () => {
    assert.equal(grpcCodeName(0), 'OK');
    assert.equal(grpcCodeName(1), 'Canceled');
    assert.equal(grpcCodeName(3), 'InvalidArgument');
    assert.equal(grpcCodeName(14), 'Unavailable');
    assert.equal(grpcCodeName(99), 'Unknown');
  });
});
