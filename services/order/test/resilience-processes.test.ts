/**
 * Order and User as processes, as production runs them, while things break:
 * User killed or restarted under load, telemetry backends unreachable or
 * never answering, and the shutdown bounded all the same.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, describe, it } from 'node:test';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { OrderServiceClient } from '@platform/contracts/order/v1/order';
import { dropDatabase } from '@platform/service-kit';
import {
  blackHole,
  eventually,
  freePort,
  freshDatabaseUrl,
  messageOf,
  sampleValue,
  scrapeMetrics,
  serviceMain,
  type ServiceProcess,
  startServiceProcess,
  unary,
} from '@platform/testing';
import { UserServiceClient } from '@platform/contracts/user/v1/user';

const USER_MAIN = serviceMain('@platform/user-service');
const ORDER_MAIN = path.resolve(__dirname, '../src/main.js');

/** What every process here gets: loopback only, no collector, no Elasticsearch, nothing from the test's own environment that would change that. */
const QUIET = { GRPC_HOST: '127.0.0.1', OTEL_SDK_DISABLED: 'true', ELASTICSEARCH_URL: '', DATABASE_URL: '' };
/** Order's deadline for User calls in these tests. */
const USER_TIMEOUT_MS = 1000;
/** A breaker that reacts within a test: opens after 5 calls in its window, probes after 1 s. */
const ORDER_RESILIENCE = {
  USER_SERVICE_TIMEOUT_MS: String(USER_TIMEOUT_MS),
  USER_SERVICE_BREAKER_VOLUME_THRESHOLD: '5',
  USER_SERVICE_BREAKER_RESET_TIMEOUT_MS: '1000',
};
/** The deadline the load's own calls carry; hitting it would mean Order hung. */
const CALL_DEADLINE_MS = 10_000;

const running = new Set<ServiceProcess>();
const databases: string[] = [];

async function start(main: string, env: NodeJS.ProcessEnv): Promise<ServiceProcess> {
  const service = await startServiceProcess(main, { ...QUIET, ...env });
  running.add(service);
  return service;
}

async function kill(service: ServiceProcess): Promise<void> {
  service.child.kill('SIGKILL');
  await service.stop();
  running.delete(service);
}

/** SIGTERM, as an orchestrator stops a replica; it must exit 0 after draining. */
async function terminate(service: ServiceProcess): Promise<void> {
  assert.equal(await service.stop(), 0, 'a clean exit after SIGTERM');
  running.delete(service);
}

afterEach(async () => {
  for (const service of running) await service.stop();
  running.clear();
});
after(async () => {
  for (const database of databases) await dropDatabase(database);
});

/** A User replica on a fixed port (so that it can come back on it), storing users in `database`. */
function startUser(port: number, database: string, env: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> {
  return start(USER_MAIN, { GRPC_PORT: String(port), DATABASE_URL: database, ...env });
}

async function usersDatabase(): Promise<string> {
  const url = await freshDatabaseUrl('users');
  databases.push(url);
  return url;
}

async function createUser(port: number): Promise<string> {
  const client = new UserServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    return (await unary(client, client.createUser)({ email: `buyer-${port}@example.com`, displayName: 'Buyer' })).id;
  } finally {
    client.close();
  }
}

/** A client that, like any careful caller, retries CreateOrder on UNAVAILABLE; request_id makes that safe. */
const RETRYING_CLIENT = {
  'grpc.service_config': JSON.stringify({
    methodConfig: [
      {
        name: [{ service: 'order.v1.OrderService', method: 'CreateOrder' }],
        retryPolicy: {
          maxAttempts: 5,
          initialBackoff: '0.2s',
          maxBackoff: '2s',
          backoffMultiplier: 2,
          retryableStatusCodes: ['UNAVAILABLE'],
        },
      },
    ],
  }),
};

interface Outcome {
  startedAt: number;
  endedAt: number;
  /** gRPC status code; 0 is OK. */
  code: number;
  details: string;
}

interface Load {
  readonly outcomes: Outcome[];
  /** Resolves when `count` calls are done, or after stop(). */
  readonly done: Promise<Outcome[]>;
  stop(): Promise<Outcome[]>;
}

/**
 * `concurrency` loops of CreateOrder through Order, each call with a fresh
 * request_id, until stopped or `count` calls have been made; every outcome is
 * recorded with its timing. A short pause between calls keeps the load steady
 * rather than flat out, so a fast-failing Order does not flood the test.
 */
function orderLoad(orderPort: number, userId: string, options: { concurrency: number; count?: number; retrying?: boolean }): Load {
  const client = new OrderServiceClient(`127.0.0.1:${orderPort}`, credentials.createInsecure(), options.retrying ? RETRYING_CLIENT : {});
  const outcomes: Outcome[] = [];
  let stopped = false;
  let next = 0;
  const loop = async () => {
    while (!stopped && (options.count === undefined || next < options.count)) {
      const requestId = `load-${next++}`;
      const startedAt = Date.now();
      const record = (code: number, details: string) => outcomes.push({ startedAt, endedAt: Date.now(), code, details });
      await unary(client, client.createOrder)(
        { userId, currency: 'EUR', requestId, items: [{ sku: 'TEA', quantity: 1, unitPriceCents: 350n }] },
        { deadline: Date.now() + CALL_DEADLINE_MS },
      ).then(
        () => record(0, ''),
        (error: ServiceError) => record(error.code, error.details),
      );
      await sleep(5);
    }
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, loop)).then(() => {
    client.close();
    return outcomes;
  });
  return {
    outcomes,
    done,
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

/** Polls `check` until it returns something other than undefined; fails, saying what it waited for, after `timeoutMs`. */
function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  return eventually(check, { timeoutMs, intervalMs: 50, failure: () => `gave up after ${timeoutMs} ms waiting until ${what}` });
}

async function metric(service: ServiceProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleValue((await scrapeMetrics(service.metricsPort)).samples, name, labels);
}

const BREAKER = { breaker: 'user-service' };
const GET_USER_OK = { grpc_method: 'GetUser', grpc_code: 'OK' };
const failed = (outcomes: Outcome[]) => outcomes.filter((outcome) => outcome.code !== 0);
const describeFailures = (outcomes: Outcome[]) =>
  JSON.stringify(
    failed(outcomes)
      .slice(0, 5)
      .map(({ code, details }) => ({ code, details })),
  );

describe('Order and User as processes, under load, while things break', () => {
  it('answers UNAVAILABLE within its deadline when User is killed, opens the breaker, and recovers when User is back', async (t) => {
    const userPort = await freePort();
    const database = await usersDatabase();
    let user = await startUser(userPort, database);
    const userId = await createUser(userPort);
    const order = await start(ORDER_MAIN, { USER_SERVICE_ADDR: `127.0.0.1:${userPort}`, ...ORDER_RESILIENCE });
    const load = orderLoad(order.port, userId, { concurrency: 4 });
    try {
      await until('20 orders went through', () => (load.outcomes.filter((o) => o.code === 0).length >= 20 ? true : undefined));
      assert.deepEqual(failed(load.outcomes), [], 'no failures while User is up');

      const killedAt = Date.now();
      await kill(user);
      await until('the breaker opened', async () => ((await metric(order, 'circuit_breaker_state', BREAKER)) === 2 ? true : undefined));
      await until('calls were turned away by the open circuit', () =>
        load.outcomes.some((o) => o.startedAt > killedAt && /circuit open/.test(o.details)) ? true : undefined,
      );

      const restartedAt = Date.now();
      user = await startUser(userPort, database);
      const userBackAt = Date.now();
      await until('the breaker closed again', async () =>
        (await metric(order, 'circuit_breaker_state', BREAKER)) === 0 ? true : undefined,
      );
      await until('orders went through again', () =>
        load.outcomes.filter((o) => o.startedAt > userBackAt && o.code === 0).length >= 10 ? true : undefined,
      );
      const recoveredAfterMs = Date.now() - userBackAt;
      const outcomes = await load.stop();
      const rejected = await metric(order, 'circuit_breaker_rejected_total', BREAKER);

      // From the kill until User is back and Order reconnected: all answered after it.
      const whileDown = outcomes.filter((o) => o.endedAt >= killedAt);
      const firstUnavailable = whileDown.find((o) => o.code === 14);
      assert.ok(firstUnavailable, 'Order answered UNAVAILABLE while User was down');
      assert.deepEqual(
        [...new Set(whileDown.map((o) => o.code))].filter((code) => code !== 0 && code !== 14),
        [],
        'after the kill every call succeeded or was UNAVAILABLE; none ran into its own deadline',
      );
      const slowest = Math.max(...whileDown.map((o) => o.endedAt - o.startedAt));
      // A correctness bound, not a speed test: Order must give up on User by its own deadline
      // (USER_SERVICE_TIMEOUT_MS) instead of hanging; 2 s of margin absorbs scheduling and retries.
      assert.ok(slowest < USER_TIMEOUT_MS + 2000, `the slowest answer after the kill took ${slowest} ms`);
      assert.ok(rejected > 0, 'the open circuit answered without calling User');
      assert.ok((await metric(order, 'circuit_breaker_transitions_total', { ...BREAKER, to: 'open' })) >= 1);
      assert.ok((await metric(order, 'circuit_breaker_transitions_total', { ...BREAKER, to: 'half_open' })) >= 1);
      assert.ok((await metric(order, 'circuit_breaker_transitions_total', { ...BREAKER, to: 'closed' })) >= 1);
      const warned = order.logLines.find((line) => /circuit user-service open/.test(String(line.message)));
      assert.equal(warned?.['log.level'], 'warn', 'the open circuit is logged as a warning');

      const fastFailed = whileDown.filter((o) => /circuit open/.test(o.details));
      t.diagnostic(
        `User killed: first UNAVAILABLE answered ${firstUnavailable.endedAt - killedAt} ms after the kill, that call took ` +
          `${firstUnavailable.endedAt - firstUnavailable.startedAt} ms against a User deadline of ${USER_TIMEOUT_MS} ms; ` +
          `slowest answer after the kill ${slowest} ms; ${whileDown.filter((o) => o.code === 14).length} UNAVAILABLE, ` +
          `${fastFailed.length} of them by the open circuit (circuit_breaker_rejected_total ${rejected}); ` +
          `User was down ${userBackAt - killedAt} ms (restart ${userBackAt - restartedAt} ms); breaker closed and orders flowed ` +
          `${recoveredAfterMs} ms after it was ready (Order's reconnect backoff, then a probe)`,
      );
    } finally {
      await load.stop();
    }
  });

  it('keeps calls succeeding through the other replica when one of two User replicas is killed', async (t) => {
    const ports = [await freePort(), await freePort()];
    const database = await usersDatabase();
    // One after the other: the first creates and migrates the database.
    const replicas = [await startUser(ports[0]!, database)];
    replicas.push(await startUser(ports[1]!, database));
    const userId = await createUser(ports[0]!);
    const order = await start(ORDER_MAIN, { USER_SERVICE_ADDR: `ipv4:127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`, ...ORDER_RESILIENCE });
    const load = orderLoad(order.port, userId, { concurrency: 4 });
    try {
      // round_robin: both replicas answer GetUser.
      for (const replica of replicas)
        await until('both replicas serve Order', async () =>
          (await metric(replica, 'grpc_server_handled_total', GET_USER_OK)) > 0 ? true : undefined,
        );
      await until('40 orders went through', () => (load.outcomes.length >= 40 ? true : undefined));

      const killedAt = Date.now();
      await kill(replicas[0]!);
      const survivorBefore = await metric(replicas[1]!, 'grpc_server_handled_total', GET_USER_OK);
      await until('100 more calls were made after the kill', () =>
        load.outcomes.filter((o) => o.startedAt > killedAt).length >= 100 ? true : undefined,
      );
      const outcomes = await load.stop();

      const inFlight = outcomes.filter((o) => o.startedAt < killedAt && o.endedAt >= killedAt);
      const affected = outcomes.filter((o) => o.endedAt >= killedAt);
      t.diagnostic(
        `one of two User replicas killed: ${failed(affected).length} failed of ${affected.length} calls answered after the kill ` +
          `(${inFlight.length} were in flight when it happened, ${failed(inFlight).length} of them failed); ` +
          `the survivor served ${(await metric(replicas[1]!, 'grpc_server_handled_total', GET_USER_OK)) - survivorBefore} GetUser since`,
      );
      // GetUser is retried on UNAVAILABLE, and a retry picks the replica still up: no call made
      // after the kill fails. One in flight may: once the killed replica's response headers have
      // arrived, the call is committed to it and gRPC does not retry it (gRFC A6).
      assert.deepEqual(
        failed(outcomes).filter((o) => !inFlight.includes(o)),
        [],
        `only calls in flight at the kill may fail: ${describeFailures(outcomes)}`,
      );
      assert.ok(
        failed(outcomes).every((o) => o.code === 14),
        `failed calls are UNAVAILABLE: ${describeFailures(outcomes)}`,
      );
      assert.equal(await metric(order, 'circuit_breaker_transitions_total', { ...BREAKER, to: 'open' }), 0, 'the breaker stayed closed');
    } finally {
      await load.stop();
    }
  });

  it('loses no call during a rolling restart of two User replicas, for a client that retries UNAVAILABLE', async (t) => {
    const ports = [await freePort(), await freePort()];
    const database = await usersDatabase();
    // A drain delay where the server supports one (SHUTDOWN_DRAIN_DELAY_MS): NOT_SERVING while still answering.
    const userEnv = { SHUTDOWN_DRAIN_DELAY_MS: '300' };
    const replicas = [await startUser(ports[0]!, database, userEnv)];
    replicas.push(await startUser(ports[1]!, database, userEnv));
    const userId = await createUser(ports[0]!);
    const order = await start(ORDER_MAIN, { USER_SERVICE_ADDR: `ipv4:127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`, ...ORDER_RESILIENCE });
    const load = orderLoad(order.port, userId, { concurrency: 4, retrying: true });
    try {
      await until('40 orders went through', () => (load.outcomes.length >= 40 ? true : undefined));
      const steps: string[] = [];
      for (const index of [0, 1]) {
        const stoppedAt = Date.now();
        await terminate(replicas[index]!);
        replicas[index] = await startUser(ports[index]!, database, userEnv);
        // Back in rotation: Order has reconnected and sends it calls. Only then is the next one
        // stopped, as an orchestrator waits for a replacement to be ready.
        await until(`replica ${index + 1} serves Order again`, async () =>
          (await metric(replicas[index]!, 'grpc_server_handled_total', GET_USER_OK)) > 0 ? true : undefined,
        );
        steps.push(`replica ${index + 1} back in rotation ${Date.now() - stoppedAt} ms after SIGTERM`);
      }
      await until('40 more orders went through', () => (load.outcomes.length >= 40 ? true : undefined));
      const outcomes = await load.stop();
      t.diagnostic(`rolling restart: ${failed(outcomes).length} failed of ${outcomes.length} calls; ${steps.join('; ')}`);
      assert.deepEqual(failed(outcomes), [], `failed calls: ${describeFailures(outcomes)}`);
      assert.equal(await metric(order, 'circuit_breaker_transitions_total', { ...BREAKER, to: 'open' }), 0, 'the breaker stayed closed');
    } finally {
      await load.stop();
    }
  });

  it('keeps answering with the collector and Elasticsearch unreachable, counts what it drops, and does not buffer without bound', async (t) => {
    const unreachable = async () => `http://127.0.0.1:${await freePort()}`;
    const telemetryDown = {
      OTEL_SDK_DISABLED: 'false',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_EXPORTER_OTLP_ENDPOINT: await unreachable(),
      OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
      ELASTICSEARCH_URL: await unreachable(),
      // The heap capped as a 192 MiB container needs it: without a cap V8 on a large machine lets
      // garbage reach hundreds of MiB before collecting, and RSS would measure the collector's
      // timing rather than what the process keeps (measured: +75 MiB in 2000 calls uncapped,
      // within 10 MiB capped). It also makes on-heap hoarding fatal: a process that kept
      // more than the heap's headroom would die, and the calls with it.
      NODE_OPTIONS: `--max-old-space-size=${HEAP_CAP_MIB}`,
    };
    const user = await start(USER_MAIN, { ...telemetryDown });
    const userId = await createUser(user.port);
    const order = await start(ORDER_MAIN, { USER_SERVICE_ADDR: `127.0.0.1:${user.port}`, ...telemetryDown });
    const services = { user, order };
    const rss = async () =>
      Object.fromEntries(
        await Promise.all(
          Object.entries(services).map(async ([name, service]) => [name, await metric(service, 'process_resident_memory_bytes')] as const),
        ),
      );

    await orderLoad(order.port, userId, { concurrency: 8, count: 500 }).done;
    const before = await rss();
    const calls = 4000;
    const outcomes = await orderLoad(order.port, userId, { concurrency: 8, count: calls }).done;
    const afterRun = await rss();
    // The shipper and the exporter give up on their own schedule; wait (bounded) until both have counted losses.
    const pipelines = await until('both services counted lost spans and log lines', async () => {
      const counts = await Promise.all(Object.values(services).map((service) => pipelineCounts(service)));
      return counts.every((count) => count.spansLost > 0 && count.linesDropped > 0 && count.shippingFailures > 0) ? counts : undefined;
    });

    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
    const names = Object.keys(services);
    t.diagnostic(
      `telemetry backends down, ${calls} calls: ${failed(outcomes).length} failed; ` +
        names
          .map((name, i) => {
            const c = pipelines[i]!;
            return (
              `${name} RSS ${mib(before[name]!)} -> ${mib(afterRun[name]!)} (+${mib(afterRun[name]! - before[name]!)}), ${c.spansLost} spans lost, ` +
              `${c.linesDropped} of ${c.linesWritten} log lines dropped, ${c.shippingFailures} shipping failures`
            );
          })
          .join('; '),
    );
    assert.equal(outcomes.length, calls);
    assert.deepEqual(failed(outcomes), [], `failed calls: ${describeFailures(outcomes)}`);
    for (const name of names) {
      const growth = afterRun[name]! - before[name]!;
      // Measured, RSS stays within about 10 MiB once warm. What 64 MiB catches: a process
      // keeping 16 KiB or more per call over these 4000 (a queue that never drops, a retry
      // buffer that never empties), or, on the heap, anything past the cap's headroom (the
      // process dies). What it cannot see at this length: a log buffer without a cap would
      // keep about 1 KiB a call, 4 MiB here; the shipper's own 8 MiB cap and the drops it
      // counts (asserted above) are what bound that one.
      assert.ok(growth < 64 * 2 ** 20, `${name} RSS grew by ${mib(growth)}`);
    }
  });
  it('stops on SIGTERM within drain + grace + the flush budget, with telemetry backends that accept connections and never answer', async (t) => {
    // Black holes: TCP accepted, nothing ever said back.
    const holes = await Promise.all([0, 1].map(() => blackHole()));
    try {
      const budget = { SHUTDOWN_DRAIN_DELAY_MS: '500', SHUTDOWN_GRACE_MS: '2000', TELEMETRY_FLUSH_TIMEOUT_MS: '1000' };
      const user = await start(USER_MAIN, {
        OTEL_SDK_DISABLED: 'false',
        OTEL_TRACES_SAMPLER: 'always_on',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${holes[0]!.port}`,
        ELASTICSEARCH_URL: `http://127.0.0.1:${holes[1]!.port}`,
        ...budget,
      });
      // Spans and log lines for the exporter and the shipper to hold.
      await createUser(user.port);
      const client = new UserServiceClient(`127.0.0.1:${user.port}`, credentials.createInsecure());
      for (let i = 0; i < 20; i++) await unary(client, client.listUsers)({ pageSize: 1, pageToken: '' });
      client.close();
      const started = performance.now();
      await terminate(user);
      const seconds = (performance.now() - started) / 1000;
      t.diagnostic(`exited 0 after ${seconds.toFixed(1)} s with both backends silent (budget: 0.5 s drain + 2 s grace + 1 s flush)`);
      // The bound a stop grace period sets (Compose's 15 s for 2 + 10 + 2); before the budget it took 19-24 s with the defaults.
      assert.ok(seconds < 0.5 + 2 + 1 + 4, `took ${seconds.toFixed(1)} s`);
      assert.ok(
        user.logLines.some((line) => messageOf(line) === 'spans not exported within the flush budget are dropped'),
        'says what it dropped',
      );
    } finally {
      for (const hole of holes) hole.close();
    }
  });
});

const HEAP_CAP_MIB = 96;

/** What a process's telemetry pipelines did, from its own metrics and its stdout. */
async function pipelineCounts(service: ServiceProcess) {
  const { samples } = await scrapeMetrics(service.metricsPort);
  const sum = (name: string, accept: (labels: Record<string, string>) => boolean) =>
    samples.filter((s) => s.name === name && accept(s.labels)).reduce((total, s) => total + s.value, 0);
  return {
    // Failed exports, and spans turned away by a full queue.
    spansLost:
      sum('otel_sdk_exporter_span_exported_total', (labels) => labels.error_type !== '') +
      sum('otel_sdk_processor_span_processed_total', (labels) => labels.error_type === 'queue_full'),
    linesWritten: service.logLines.length,
    linesDropped: sampleValue(samples, 'log_shipping_documents_total', { outcome: 'dropped' }),
    shippingFailures: sampleValue(samples, 'log_shipping_failures_total'),
  };
}
