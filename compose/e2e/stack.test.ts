/**
 * The whole stack, end to end, where a Docker engine runs (npm run test:e2e;
 * the GitHub Actions workflow runs it on ubuntu-latest). Brings the Compose
 * stack up with Testcontainers, runs traffic for a fixed count, and asks each
 * backend through its real API whether the telemetry arrived.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DASHBOARDS, DATASOURCES } from '@platform/dashboards';
import { DockerComposeEnvironment, getContainerRuntimeClient, Wait, type StartedDockerComposeEnvironment } from 'testcontainers';
import { eventually } from '@platform/testing';
import { COMPOSE_DIR, readEnvFile } from '../support/compose-file';

const env = readEnvFile();
const PROJECT = 'grpc-platform-e2e';
const URLS = {
  jaeger: 'http://127.0.0.1:16686',
  prometheus: 'http://127.0.0.1:9090',
  grafana: 'http://127.0.0.1:3000',
  elasticsearch: 'http://127.0.0.1:9200',
  kibana: 'http://127.0.0.1:5601',
  storefront: 'http://127.0.0.1:8080',
  orderWeb: 'http://127.0.0.1:8083',
  jaegerOtlpHttp: 'http://127.0.0.1:4318',
};
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const elastic = basic('elastic', env.ELASTIC_PASSWORD!);

async function json<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(url, { headers: { ...headers, 'kbn-xsrf': 'e2e' } });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Telemetry arrives asynchronously: poll each backend, tolerating one still starting. */
function arrives<T>(what: string, find: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  return eventually(find, { timeoutMs, intervalMs: 2000, retryErrors: true, failure: () => `${what}: not within ${timeoutMs / 1000} s` });
}

async function dockerEngineAnswers(): Promise<boolean> {
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

interface JaegerTrace {
  traceID: string;
  spans: { processID: string; tags: { key: string; value: unknown }[] }[];
  processes: Record<string, { serviceName: string }>;
}

describe('the Compose stack, end to end', async () => {
  if (!(await dockerEngineAnswers())) {
    process.stderr.write('\n*** skipped: no Docker engine. The Compose end-to-end test did NOT run. ***\n\n');
    it('needs a Docker engine', { skip: 'skipped: no Docker engine' }, () => undefined);
    return;
  }

  let stack: StartedDockerComposeEnvironment;
  let traceId: string;

  before(async () => {
    stack = await new DockerComposeEnvironment(COMPOSE_DIR, 'docker-compose.yml')
      .withProjectName(PROJECT)
      .withEnvironmentFile('.env')
      .withBuild()
      .withDefaultWaitStrategy(Wait.forHealthCheck())
      .withWaitStrategy('setup-1', Wait.forOneShotStartup())
      .withWaitStrategy('kibana-setup-1', Wait.forOneShotStartup())
      .up();
  });

  after(async () => {
    await stack?.down({ removeVolumes: true });
  });

  it('runs traffic for a fixed count without unexpected errors', async () => {
    const traffic = stack.getContainer('traffic-1');
    const result = await traffic.exec(
      [
        'node',
        '--require',
        '@platform/telemetry/register',
        'scripts/traffic/dist/src/main.js',
        '--count',
        '30',
        '--rate',
        '10',
        '--seed',
        '7',
        '--user-addr',
        'dns:///user:50051',
        '--order-addr',
        'order:50052',
      ],
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4317' } },
    );
    assert.equal(result.exitCode, 0, result.output);
  });

  it('has traces in Jaeger spanning traffic-generator -> order-service -> user-service, with PostgreSQL spans', async () => {
    const trace = await arrives('a full trace in Jaeger', async () => {
      const { data } = await json<{ data: JaegerTrace[] }>(
        `${URLS.jaeger}/api/traces?service=traffic-generator&operation=${encodeURIComponent('scenario shopper')}&limit=50`,
      );
      return data.find((candidate) => {
        const services = new Set(Object.values(candidate.processes).map((process) => process.serviceName));
        const postgres = candidate.spans.some((span) =>
          span.tags.some((tag) => tag.key === 'db.system.name' && tag.value === 'postgresql'),
        );
        return services.has('traffic-generator') && services.has('order-service') && services.has('user-service') && postgres;
      });
    });
    traceId = trace.traceID;
  });

  it('has log documents in Elasticsearch carrying that trace id', async () => {
    const hits = await arrives('logs of the trace', async () => {
      const body = await json<{ hits: { hits: { _source: Record<string, unknown> }[] } }>(
        `${URLS.elasticsearch}/logs-*/_search?q=trace.id:${traceId}`,
        elastic,
      );
      return body.hits.hits.length > 0 ? body.hits.hits : undefined;
    });
    assert.ok(hits.every((hit) => hit._source['trace.id'] === traceId));
  });

  it('has every Prometheus target up and the alert rules loaded', async () => {
    await arrives('all targets up', async () => {
      const { data } = await json<{ data: { activeTargets: { labels: { job: string }; health: string }[] } }>(
        `${URLS.prometheus}/api/v1/targets`,
      );
      const jobs = new Set(data.activeTargets.map((target) => target.labels.job));
      const allUp = data.activeTargets.every((target) => target.health === 'up');
      return allUp && ['user-service', 'order-service', 'jaeger', 'prometheus'].every((job) => jobs.has(job)) ? data : undefined;
    });
    const { data } = await json<{ data: { groups: { rules: { health: string }[] }[] } }>(`${URLS.prometheus}/api/v1/rules`);
    const rules = data.groups.flatMap((group) => group.rules);
    assert.ok(rules.length > 0 && rules.every((rule) => rule.health === 'ok'));
  });

  it('has every Grafana datasource healthy and every dashboard listed', async () => {
    const admin = basic('admin', env.GRAFANA_ADMIN_PASSWORD!);
    for (const { uid } of Object.values(DATASOURCES)) {
      const health = await arrives(`datasource ${uid} healthy`, async () => {
        const result = await json<{ status: string; message: string }>(`${URLS.grafana}/api/datasources/uid/${uid}/health`, admin);
        return result.status === 'OK' ? result : undefined;
      });
      assert.equal(health.status, 'OK', `${uid}: ${health.message}`);
    }
    const listed = await json<{ uid: string }[]>(`${URLS.grafana}/api/search?type=dash-db`, admin);
    for (const definition of DASHBOARDS)
      assert.ok(
        listed.some((dashboard) => dashboard.uid === definition.spec.uid),
        definition.spec.uid,
      );
  });

  it('has the Kibana data view for the logs', async () => {
    const { data_view: dataViews } = await json<{ data_view: { title: string }[] }>(`${URLS.kibana}/api/data_views`, elastic);
    assert.ok(
      dataViews.some((view) => view.title === 'logs-*'),
      JSON.stringify(dataViews),
    );
  });

  it("serves the storefront page, whose origin may call the web endpoints and export spans to Jaeger's OTLP/HTTP", async () => {
    const config = await json<{ orderUrl: string; otlpTracesUrl: string }>(`${URLS.storefront}/config.json`);
    assert.equal(config.orderUrl, URLS.orderWeb);
    assert.equal(config.otlpTracesUrl, `${URLS.jaegerOtlpHttp}/v1/traces`);
    const origin = URLS.storefront;
    const listed = await fetch(`${URLS.orderWeb}/order.v1.OrderService/ListOrders`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', 'connect-protocol-version': '1' },
      body: JSON.stringify({ pageSize: 1 }),
    });
    assert.equal(listed.status, 200, await listed.clone().text());
    assert.equal(listed.headers.get('access-control-allow-origin'), origin);
    assert.match(listed.headers.get('x-trace-id') ?? '', /^[0-9a-f]{32}$/);
    const preflight = await fetch(`${URLS.jaegerOtlpHttp}/v1/traces`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), origin);
  });

  it('answers the Jaeger Monitor (SPM) API with service metrics', async () => {
    const metrics = await arrives('span metrics', async () => {
      const body = await json<{ metrics: unknown[] }>(
        `${URLS.jaeger}/api/metrics/calls?service=order-service&endTs=${Date.now()}&lookback=900000&step=60000&ratePer=60000`,
      );
      return body.metrics.length > 0 ? body.metrics : undefined;
    });
    assert.ok(metrics.length > 0);
  });
});
