import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { freePort, sampleValue, scrapeMetrics, serviceMain, startServiceProcess, unary } from '@platform/testing';
import { UserServiceClient, type User } from '@platform/contracts/user/v1/user';
import { FakeElasticsearch } from '../support/fake-elasticsearch';

const USER_MAIN = serviceMain('@platform/user-service');

/** GetUser, returning the trace id the server put in x-trace-id. */
function getUserTraced(client: UserServiceClient, id: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let traceId: string | undefined;
    const call = client.getUser({ id }, new Metadata(), (error: ServiceError | null) => {
      traceId ??= error?.metadata.get('x-trace-id')[0]?.toString();
      if (traceId) resolve(traceId);
      else reject(new Error('no x-trace-id in the response'));
    });
    call.on('metadata', (metadata) => (traceId = metadata.get('x-trace-id')[0]?.toString()));
  });
}

describe('logs of a service process', () => {
  const elasticsearch = new FakeElasticsearch();
  let elasticsearchUrl: string;

  before(async () => {
    elasticsearchUrl = await elasticsearch.listen();
  });
  after(() => elasticsearch.close());

  it('carry the trace id of their request, in ECS, on stdout and in the Elasticsearch data stream', async () => {
    const service = await startServiceProcess(USER_MAIN, {
      ELASTICSEARCH_URL: elasticsearchUrl,
      ELASTICSEARCH_API_KEY: 'c2VjcmV0LWtleQ==',
    });
    const client = new UserServiceClient(`127.0.0.1:${service.port}`, credentials.createInsecure());
    const user: User = await unary(client, client.createUser)({ email: 'logged@example.com', displayName: 'Logged' });
    const traceId = await getUserTraced(client, user.id);
    const failedTraceId = await getUserTraced(client, 'not-a-uuid');
    client.close();
    // SIGTERM sends what is still buffered before the process exits.
    assert.equal(await service.stop(), 0);

    const accessLine = service.logLines.find((line) => line['trace.id'] === traceId);
    assert.ok(accessLine, 'stdout has a line with the trace id of the GetUser call');
    assert.equal(accessLine['message'], '/user.v1.UserService/GetUser OK');
    assert.equal(accessLine['log.level'], 'info');
    assert.equal(accessLine['service.name'], 'user-service');
    assert.match(String(accessLine['span.id']), /^[0-9a-f]{16}$/);
    assert.deepEqual((accessLine['rpc'] as { grpc: unknown }).grpc, { status_code: 0 });
    assert.ok(Number((accessLine['event'] as { duration: number }).duration) > 0);
    assert.match(String((accessLine['client'] as { address: string }).address), /127\.0\.0\.1/);
    assert.ok(
      service.logLines.some(
        (line) => line['trace.id'] === failedTraceId && line['message'] === '/user.v1.UserService/GetUser InvalidArgument',
      ),
    );
    assert.doesNotMatch(JSON.stringify(service.logLines), /logged@example\.com/, 'no email address in the logs');

    const shipped = elasticsearch.documents.filter((document) => document.source['trace.id'] === traceId);
    assert.equal(shipped.length, 1, 'the access line reached Elasticsearch once');
    assert.equal(shipped[0]!.index, 'logs-user_service-default');
    assert.equal(shipped[0]!.opType, 'create', 'data streams accept only create');
    assert.ok(shipped[0]!.source['@timestamp']);
    assert.equal(elasticsearch.documents.length, service.logLines.length, 'every stdout line was shipped');
    assert.ok(elasticsearch.headers.every((headers) => headers.authorization === 'ApiKey c2VjcmV0LWtleQ=='));
  });

  it('keep the service answering when Elasticsearch is unreachable, count what is lost, and resume when it is back', async () => {
    const elasticsearchPort = await freePort();
    const service = await startServiceProcess(USER_MAIN, { ELASTICSEARCH_URL: `http://127.0.0.1:${elasticsearchPort}` });
    const returning = new FakeElasticsearch();
    const client = new UserServiceClient(`127.0.0.1:${service.port}`, credentials.createInsecure());
    try {
      const giveUpAt = Date.now() + 60_000;
      let calls = 0;
      let failures = 0;
      // Keep calling (each call logs a line) until shipping has failed and lines are being dropped.
      for (let dropped = 0; (failures === 0 || dropped === 0) && Date.now() < giveUpAt; calls++) {
        await unary(client, client.createUser)({ email: `unshipped${calls}@example.com`, displayName: 'Unshipped' });
        const { samples } = await scrapeMetrics(service.metricsPort);
        failures = sampleValue(samples, 'log_shipping_failures_total');
        dropped = sampleValue(samples, 'log_shipping_documents_total', { outcome: 'dropped' });
        if (failures === 0 || dropped === 0) await sleep(50);
      }
      const { samples } = await scrapeMetrics(service.metricsPort);
      assert.ok(sampleValue(samples, 'log_shipping_failures_total') >= 1, 'the failed connection is counted');
      assert.ok(
        sampleValue(samples, 'log_shipping_documents_total', { outcome: 'dropped' }) >= 1,
        'lines that could not be sent are counted',
      );
      assert.equal(
        sampleValue(samples, 'grpc_server_handled_total', { grpc_method: 'CreateUser', grpc_code: 'OK' }),
        calls,
        'every call succeeded',
      );

      // Elasticsearch comes back on the same address: shipping restarts by itself.
      await returning.listen(elasticsearchPort);
      while (returning.documents.length === 0 && Date.now() < giveUpAt) {
        await unary(client, client.createUser)({ email: `resumed${calls++}@example.com`, displayName: 'Resumed' });
        await sleep(100);
      }
      assert.ok(returning.documents.length > 0, 'lines reach Elasticsearch again after it returns');
      const after = (await scrapeMetrics(service.metricsPort)).samples;
      assert.ok(sampleValue(after, 'log_shipping_documents_total', { outcome: 'shipped' }) > 0);
    } finally {
      client.close();
      assert.equal(await service.stop(), 0);
      await returning.close();
    }
  });
});
