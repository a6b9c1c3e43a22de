import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { freePort, healthStatus, sampleValue, scrapeMetrics, startInProcess, testConfig, type InProcessService } from '@platform/testing';
import { EchoServiceClient } from '@platform/contracts/echo/v1/echo';
import { Code, readRetryDelayMs, type RateLimitConfig } from '../src';
import { ECHO_SERVICE_NAME, startEchoService } from './echo/echo-service';

/** The Redis the machine provides (CI's too). */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** One Echo call as `clientId` (none: the peer address stands for the caller); resolves with its status code. */
function echo(client: EchoServiceClient, clientId?: string): Promise<{ code: number; error?: ServiceError }> {
  const metadata = new Metadata();
  if (clientId !== undefined) metadata.set('x-client-id', clientId);
  return new Promise((resolve) => {
    client.echo({ text: 'hello' }, metadata, { deadline: Date.now() + 10_000 }, (error) =>
      resolve(error ? { code: error.code, error } : { code: Code.OK }),
    );
  });
}

/** Makes `count` calls, `concurrency` at a time, spreading them over the clients in turn. */
async function burst(
  clients: EchoServiceClient[],
  count: number,
  clientId?: string,
): Promise<{ code: number; error?: ServiceError; replica: number }[]> {
  const results: { code: number; error?: ServiceError; replica: number }[] = [];
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < count; index = next++) {
      const replica = index % clients.length;
      results.push({ ...(await echo(clients[replica]!, clientId)), replica });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return results;
}

describe('rate limiting per caller (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST, REDIS_URL)', () => {
  const started: { service: InProcessService; client: EchoServiceClient }[] = [];

  async function start(rateLimit: RateLimitConfig) {
    const service = await startInProcess(ECHO_SERVICE_NAME, startEchoService, testConfig({ rateLimit }));
    const client = new EchoServiceClient(service.address, credentials.createInsecure());
    started.push({ service, client });
    return { service, client };
  }

  after(async () => {
    for (const { service, client } of started) {
      client.close();
      await service.stop();
    }
  });

  it('rejects a burst over the budget with RESOURCE_EXHAUSTED and RetryInfo, counts it, and spares health and other callers', async () => {
    // 1 per second plus 10 more in a spike: 40 calls cannot all pass unless they are spread over 29 s.
    const { service, client } = await start({ perSecond: 1, burst: 10, redisUrl: undefined });
    const results = await burst([client], 40, 'greedy');
    const rejected = results.filter((result) => result.code === Code.RESOURCE_EXHAUSTED);
    assert.ok(rejected.length > 0, 'some calls over the budget were rejected');
    assert.ok(results.filter((result) => result.code === Code.OK).length >= 11, 'the budget and the burst were served');
    assert.deepEqual(
      results.filter((result) => result.code !== Code.OK && result.code !== Code.RESOURCE_EXHAUSTED),
      [],
    );
    for (const { error } of rejected) {
      const delayMs = readRetryDelayMs(error?.metadata);
      assert.ok(delayMs !== undefined && delayMs > 0 && delayMs <= 1000, `retry delay ${delayMs} ms is within the 1 s window`);
      assert.match(error!.details, /rate limit exceeded/);
    }

    // While "greedy" is over its budget, health answers and another caller has its own budget.
    assert.equal(await healthStatus(service.address), 'SERVING');
    assert.equal((await echo(client, 'modest')).code, Code.OK);

    const { samples } = await scrapeMetrics(service.telemetry.metricsPort);
    const labels = { grpc_service: 'echo.v1.EchoService', grpc_method: 'Echo' };
    assert.equal(sampleValue(samples, 'grpc_server_rate_limited_total', labels), rejected.length);
    assert.equal(
      sampleValue(samples, 'grpc_server_handled_total', { ...labels, grpc_code: 'ResourceExhausted' }),
      rejected.length,
      'rejections are counted like any status',
    );
  });

  it('limits a caller without x-client-id by its address', async () => {
    const { client } = await start({ perSecond: 1, burst: 0, redisUrl: undefined });
    const results = await burst([client], 20);
    assert.ok(results.some((result) => result.code === Code.RESOURCE_EXHAUSTED));
  });

  it('shares one budget between replicas through Redis', async () => {
    // 1 per second and a burst of 100. Alone, each replica would let all of
    // its 75 calls through; sharing one budget, 150 calls must meet a
    // rejection on both unless they are spread over some 49 s.
    const shared: RateLimitConfig = { perSecond: 1, burst: 100, redisUrl: REDIS_URL, keyPrefix: `test-rate-limit-${randomUUID()}` };
    const a = await start(shared);
    const b = await start(shared);
    const results = await burst([a.client, b.client], 150, 'shared-caller');
    assert.deepEqual(
      results.filter((result) => result.code !== Code.OK && result.code !== Code.RESOURCE_EXHAUSTED),
      [],
    );
    for (const replica of [0, 1]) {
      assert.ok(
        results.some((result) => result.replica === replica && result.code === Code.RESOURCE_EXHAUSTED),
        `replica ${replica === 0 ? 'A' : 'B'} rejected calls once the shared budget was spent`,
      );
    }
    assert.ok(results.filter((result) => result.code === Code.OK).length >= 101);
  });

  it('lets calls through when Redis cannot be reached (fail open), and counts them', async () => {
    const { service, client } = await start({ perSecond: 1, burst: 0, redisUrl: `redis://127.0.0.1:${await freePort()}` });
    const results = await burst([client], 10, 'unchecked');
    assert.deepEqual(
      results.map((result) => result.code),
      Array(10).fill(Code.OK),
    );
    const { samples } = await scrapeMetrics(service.telemetry.metricsPort);
    assert.equal(sampleValue(samples, 'rate_limiter_failures_total'), 10);
    assert.equal(sampleValue(samples, 'grpc_server_rate_limited_total', { grpc_method: 'Echo' }), 0);
  });
});
