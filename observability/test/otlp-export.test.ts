import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { dropDatabase } from '@platform/service-kit';
import {
  eventually,
  freePort,
  freshDatabaseUrl,
  sampleValue,
  scrapeMetrics,
  serviceMain,
  startServiceProcess,
  unary,
} from '@platform/testing';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { FakeElasticsearch } from '../support/fake-elasticsearch';
import { OtlpTraceReceiver } from '../support/otlp-receiver';

const USER_MAIN = serviceMain('@platform/user-service');
const SERVER = 2;

async function createUsers(port: number, count: number): Promise<void> {
  const client = new UserServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    for (let i = 0; i < count; i++)
      await unary(client, client.createUser)({ email: `otlp${i}-${port}@example.com`, displayName: 'Exported' });
  } finally {
    client.close();
  }
}

describe('the OTLP/gRPC exporter, configured only through OTEL_* variables', () => {
  const receiver = new OtlpTraceReceiver();
  let endpoint: string;

  before(async () => {
    endpoint = await receiver.listen();
  });
  after(() => receiver.close());

  it('delivers a service process spans, with its resource, to a TraceService receiver', async () => {
    const service = await startServiceProcess(USER_MAIN, {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=otlp-test',
      OTEL_TRACES_SAMPLER: 'always_on',
    });
    await createUsers(service.port, 1);
    // SIGTERM flushes the batch still queued.
    assert.equal(await service.stop(), 0);

    const serverSpan = receiver.spans.find((span) => span.name === 'user.v1.UserService/CreateUser' && span.kind === SERVER);
    assert.ok(serverSpan, `received: ${receiver.spans.map((span) => span.name).join(', ')}`);
    assert.equal(serverSpan.resource['service.name'], 'user-service');
    assert.equal(serverSpan.resource['service.version'], '0.1.0');
    assert.equal(serverSpan.resource['deployment.environment.name'], 'otlp-test');
    assert.match(String(serverSpan.resource['service.instance.id']), /^[0-9a-f-]{36}$/);
    assert.equal(serverSpan.attributes['rpc.system'], 'grpc');
    assert.equal(serverSpan.attributes['rpc.method'], 'CreateUser');
    assert.match(String(serverSpan.attributes['app.user.id']), /^[0-9a-f-]{36}$/);
  });

  it("exports no span of the platform's own housekeeping: log shipping, pool health probes", async () => {
    const elasticsearch = new FakeElasticsearch();
    const elasticsearchUrl = await elasticsearch.listen();
    const databaseUrl = await freshDatabaseUrl('users');
    const first = receiver.spans.length;
    try {
      const service = await startServiceProcess(USER_MAIN, {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_TRACES_SAMPLER: 'always_on',
        ELASTICSEARCH_URL: elasticsearchUrl,
        DATABASE_URL: databaseUrl,
      });
      await createUsers(service.port, 3);
      // Shipped, and the pool's reachability probe has run (it runs at start and every 5 s).
      await eventually(() => (elasticsearch.documents.length > 0 ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 100,
        failure: () => 'no log line shipped',
      });
      assert.equal(await service.stop(), 0);
      const spans = receiver.spans.slice(first);
      const traces = new Map<string, string[]>();
      for (const span of spans) traces.set(span.traceId, [...(traces.get(span.traceId) ?? []), span.name]);
      assert.deepEqual(
        spans.filter((span) => span.attributes['db.system'] === 'elasticsearch' || span.attributes['db.system.name'] === 'elasticsearch'),
        [],
        'no Elasticsearch spans',
      );
      // Every trace is a caller's request: it has a gRPC server span at its root.
      const orphans = [...traces].filter(
        ([traceId]) => !spans.some((span) => span.traceId === traceId && span.kind === SERVER && span.parentSpanId === ''),
      );
      assert.deepEqual(orphans, [], 'traces that no caller started');
    } finally {
      await elasticsearch.close();
      await dropDatabase(databaseUrl).catch(() => undefined);
    }
  });

  it('honours OTEL_SDK_DISABLED and OTEL_TRACES_SAMPLER', async () => {
    const before = receiver.spans.length;
    for (const env of [{ OTEL_SDK_DISABLED: 'true' }, { OTEL_TRACES_SAMPLER: 'always_off' }]) {
      const service = await startServiceProcess(USER_MAIN, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...env });
      await createUsers(service.port, 2);
      assert.equal(await service.stop(), 0);
    }
    assert.equal(receiver.spans.length, before, 'no spans from a disabled SDK or an always_off sampler');
  });

  it('keeps answering when the collector is unreachable, and counts the spans it loses', async () => {
    const service = await startServiceProcess(USER_MAIN, {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
      OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
    });
    try {
      await createUsers(service.port, 20);
      // The batch processor exports on its own schedule; wait (bounded) for its first attempt to be counted.
      const giveUpAt = Date.now() + 30_000;
      let lost = 0;
      while (lost === 0 && Date.now() < giveUpAt) {
        const { samples } = await scrapeMetrics(service.metricsPort);
        lost = samples
          .filter((s) => s.name === 'otel_sdk_exporter_span_exported_total' && s.labels.error_type !== '')
          .reduce((sum, s) => sum + s.value, 0);
        if (lost === 0) await sleep(250);
      }
      assert.ok(lost >= 20, `expected the 20+ spans of the calls to be counted as lost, got ${lost}`);
      const { samples } = await scrapeMetrics(service.metricsPort);
      assert.equal(sampleValue(samples, 'grpc_server_handled_total', { grpc_method: 'CreateUser', grpc_code: 'OK' }), 20);
    } finally {
      assert.equal(await service.stop(), 0, 'shuts down cleanly though spans cannot be delivered');
    }
  });
});
