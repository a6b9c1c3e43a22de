import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { DASHBOARDS } from '@platform/dashboards';
import { dropDatabase } from '@platform/service-kit';
import {
  freshDatabaseUrl,
  type PrometheusServer,
  serviceMain,
  type ServiceProcess,
  startPrometheus,
  startServiceProcess,
} from '@platform/testing';
import { runTraffic } from '@platform/traffic-generator';
import { FakeElasticsearch } from '../support/fake-elasticsearch';
import { OtlpTraceReceiver } from '../support/otlp-receiver';
import { localPrometheusConfig } from '../support/project-prometheus';

/**
 * What Grafana substitutes before it sends a query: every template variable
 * set to All (its allValue, `.*`), and the interval variables sized for a
 * 1-second scrape interval.
 */
function asGrafanaSends(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '20s')
    .replaceAll('$__interval', '5s')
    .replaceAll('$__range', '2m')
    .replace(/\$(job|method|instance)\b/g, '.*');
}

describe('every dashboard panel has data against a real Prometheus', () => {
  const databases: string[] = [];
  const elasticsearch = new FakeElasticsearch();
  const collector = new OtlpTraceReceiver();
  const services: ServiceProcess[] = [];
  const stopTraffic = new AbortController();
  let traffic: Promise<unknown> = Promise.resolve();
  let prometheus: PrometheusServer;

  before(async () => {
    databases.push(await freshDatabaseUrl('users'), await freshDatabaseUrl('orders'));
    const common = {
      ELASTICSEARCH_URL: await elasticsearch.listen(),
      OTEL_EXPORTER_OTLP_ENDPOINT: await collector.listen(),
      // Errors and latency of the platform's own making, so error and latency panels have something to show.
      FAULT_INJECTION_ENABLED: 'true',
      FAULTS: '*:latency=1ms..40ms,error=UNAVAILABLE@0.03',
    };
    const user = await startServiceProcess(serviceMain('@platform/user-service'), { ...common, DATABASE_URL: databases[0] });
    services.push(user);
    const order = await startServiceProcess(serviceMain('@platform/order-service'), {
      ...common,
      DATABASE_URL: databases[1],
      USER_SERVICE_ADDR: `127.0.0.1:${user.port}`,
    });
    services.push(order);

    prometheus = await startPrometheus(
      localPrometheusConfig({ 'user-service': [`127.0.0.1:${user.metricsPort}`], 'order-service': [`127.0.0.1:${order.metricsPort}`] }),
    );
    traffic = runTraffic(
      {
        userAddr: `127.0.0.1:${user.port}`,
        orderAddr: `127.0.0.1:${order.port}`,
        rate: 15,
        durationMs: 120_000,
        concurrency: 20,
        seed: 5,
        scenario: 'mixed',
        errorRate: 0.1,
        deadlineMs: 10_000,
        jaegerUrl: 'http://localhost:16686',
      },
      { signal: stopTraffic.signal },
    );
    // Data for every window the panels use: a rate over 20 s needs a few scrapes of traffic,
    // and the first spans are exported after the batch processor's 5 s delay.
    await prometheus.waitFor('sum(rate(grpc_server_handled_total[20s]))', (samples) => (samples[0]?.value ?? 0) > 0, 90_000);
    await prometheus.waitFor('sum(rate(otel_sdk_exporter_span_exported_total[20s]))', (samples) => (samples[0]?.value ?? 0) > 0, 90_000);
    await sleep(5_000);
  });

  after(async () => {
    stopTraffic.abort();
    await traffic.catch(() => undefined);
    await prometheus?.stop();
    for (const service of services) await service.stop();
    collector.close();
    await elasticsearch.close();
    for (const url of databases) await dropDatabase(url);
  });

  it('runs every panel query, variables substituted, and gets series back', async (t) => {
    const rows: [string, string, string, number][] = [];
    const empty: string[] = [];
    for (const definition of DASHBOARDS) {
      for (const panel of definition.panels) {
        for (const [index, query] of panel.queries.entries()) {
          const samples = await prometheus.query(asGrafanaSends(query.expr));
          rows.push([definition.spec.uid, panel.title, String.fromCharCode(65 + index), samples.length]);
          if (samples.length === 0) empty.push(`${definition.spec.uid} / ${panel.title} / ${query.expr}`);
        }
      }
    }
    const width = Math.max(...rows.map(([uid, title]) => `${uid}  ${title}`.length));
    t.diagnostic(
      [
        'dashboard  panel (query): series',
        ...rows.map(([uid, title, refId, count]) => `${`${uid}  ${title}`.padEnd(width)}  ${refId}: ${count}`),
      ].join('\n'),
    );
    assert.deepEqual(empty, [], 'panels without data');
  });

  it('finds exemplars on the latency panels whose traces reached the collector', async () => {
    const end = Date.now() / 1000;
    const data = await prometheus.api<{ exemplars: { labels: Record<string, string> }[] }[]>(
      `/api/v1/query_exemplars?query=${encodeURIComponent('grpc_server_handling_seconds_bucket')}&start=${end - 120}&end=${end}`,
    );
    const traceIds = data.flatMap((series) => series.exemplars.map((exemplar) => exemplar.labels.trace_id));
    assert.ok(traceIds.length > 0, 'Prometheus stored exemplars');
    const exported = new Set(collector.spans.map((span) => span.traceId));
    assert.ok(
      traceIds.some((id) => id && exported.has(id)),
      'an exemplar links to a trace the collector received',
    );
  });

  it('loads every alerting and recording rule with health ok', async () => {
    const data = await prometheus.api<{ groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] }>(
      '/api/v1/rules',
    );
    const rules = data.groups.flatMap((group) => group.rules);
    assert.ok(rules.length > 0, 'rules are loaded');
    // Rules are evaluated every second here; give each at least one evaluation.
    await prometheus.waitFor('up', () => true);
    const unhealthy = rules.filter((rule) => rule.health !== 'ok');
    assert.deepEqual(
      unhealthy.map((rule) => `${rule.name}: ${rule.health} ${rule.lastError ?? ''}`),
      [],
    );
  });
});
