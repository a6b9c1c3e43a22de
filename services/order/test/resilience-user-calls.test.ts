import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { AppError, Code, createLogger, Dependency, type CallContext, type CircuitBreakerSettings } from '@platform/service-kit';
import { createRegistry, renderMetrics, type MetricsRegistry } from '@platform/telemetry';
import { parseSamples, sampleValue } from '@platform/testing';
import { User, UserServiceService, type GetUserRequest, type UserServiceClient } from '@platform/contracts/user/v1/user';
import { loadConfig, USER_SERVICE_RESILIENCE_DEFAULTS } from '../src/config';
import { GrpcUserDirectory, userServiceBreaker, userServiceClient } from '../src/internal/user-directory';

const USER = '9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

function context(signal = new AbortController().signal): CallContext {
  return {
    method: '/order.v1.OrderService/CreateOrder',
    metadata: new Metadata(),
    deadline: Infinity,
    peer: 'test',
    signal,
    sendHeaders: () => undefined,
  };
}

/** What a fake User answers to the n-th GetUser it receives (1-based): a status code, or 'hang' to never answer. */
type Script = (attempt: number) => status | 'hang';

/** A real gRPC server playing user.v1.UserService, counting the GetUser calls that reach it. */
class FakeUserServer {
  attempts = 0;
  private readonly server = new Server();

  constructor(script: Script) {
    const getUser = (call: ServerUnaryCall<GetUserRequest, User>, callback: sendUnaryData<User>) => {
      const answer = script(++this.attempts);
      if (answer === 'hang') return;
      if (answer === status.OK) callback(null, User.fromPartial({ id: call.request.id }));
      else callback({ code: answer, details: `scripted ${status[answer]}` });
    };
    this.server.addService(UserServiceService, { getUser } as UntypedServiceImplementation);
  }

  async start(): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

async function withUserServer<T>(script: Script, use: (server: FakeUserServer, target: string) => Promise<T>): Promise<T> {
  const server = new FakeUserServer(script);
  const port = await server.start();
  try {
    return await use(server, `127.0.0.1:${port}`);
  } finally {
    server.stop();
  }
}

function directoryFor(target: string, options: { retryAttempts?: number; timeoutMs?: number } = {}) {
  const client = userServiceClient({
    target,
    credentials: credentials.createInsecure(),
    retryAttempts: options.retryAttempts ?? USER_SERVICE_RESILIENCE_DEFAULTS.retryAttempts,
    interceptors: [],
  });
  return { client, directory: new GrpcUserDirectory(new Dependency({ client, timeoutMs: options.timeoutMs ?? 5000 })) };
}

/** Resolves with the AppError code the call ended with, or OK. */
async function outcomeOf(call: Promise<void>): Promise<Code> {
  try {
    await call;
    return Code.OK;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    return error.code;
  }
}

/** One call through a client making up to `retryAttempts` attempts, to a fake User answering as scripted: its outcome, and the attempts User saw. */
function oneCall(script: Script, retryAttempts: number): Promise<{ outcome: Code; attempts: number }> {
  return withUserServer(script, async (server, target) => {
    const { client, directory } = directoryFor(target, { retryAttempts });
    const outcome = await outcomeOf(directory.assertUserExists(USER, context()));
    client.close();
    return { outcome, attempts: server.attempts };
  });
}

describe('Order -> User retries, from the gRPC service config', () => {
  it('retries GetUser on UNAVAILABLE, and succeeds once User does', async () => {
    // Two failed attempts and the one that succeeded.
    assert.deepEqual(await oneCall((attempt) => (attempt <= 2 ? status.UNAVAILABLE : status.OK), 3), { outcome: Code.OK, attempts: 3 });
  });

  it('gives up after USER_SERVICE_RETRY_ATTEMPTS attempts with UNAVAILABLE', async () => {
    assert.deepEqual(await oneCall(() => status.UNAVAILABLE, 3), { outcome: Code.UNAVAILABLE, attempts: 3 });
  });

  it('never retries an answer that would be the same again (INVALID_ARGUMENT, NOT_FOUND, INTERNAL)', async () => {
    for (const [answer, translated] of [
      [status.INVALID_ARGUMENT, Code.INTERNAL],
      [status.NOT_FOUND, Code.FAILED_PRECONDITION],
      [status.INTERNAL, Code.INTERNAL],
    ] as const) {
      assert.deepEqual(
        await oneCall(() => answer, 5),
        { outcome: translated, attempts: 1 },
        `User answering ${status[answer]} is called once`,
      );
    }
  });

  it('makes one attempt when USER_SERVICE_RETRY_ATTEMPTS is 1', async () => {
    assert.deepEqual(await oneCall(() => status.UNAVAILABLE, 1), { outcome: Code.UNAVAILABLE, attempts: 1 });
  });

  it('stops retrying while most attempts fail (retry throttling), so retries cannot pile onto a failing User', async (t) => {
    await withUserServer(
      () => status.UNAVAILABLE,
      async (server, target) => {
        const { client, directory } = directoryFor(target, { retryAttempts: 3 });
        const calls = 30;
        await Promise.all(Array.from({ length: calls }, () => outcomeOf(directory.assertUserExists(USER, context()))));
        const burst = server.attempts;
        t.diagnostic(`${calls} concurrent calls to a failing User made ${burst} attempts`);
        // Each failed attempt costs a token of 100, and a retry needs more than 50 left when
        // its backoff ends: the 30 first attempts leave 70, so they are retried; the 30
        // second ones bring it to 40, so most third attempts are refused. Unthrottled: 90.
        assert.ok(burst < calls * 3, `${burst} attempts for ${calls} calls: retries were throttled`);
        assert.ok(burst > calls, `${burst} attempts for ${calls} calls: some were retried before the throttle closed`);
        for (let i = 0; i < 10; i++) await outcomeOf(directory.assertUserExists(USER, context()));
        client.close();
        assert.equal(server.attempts - burst, 10, 'once throttled, each call makes one attempt');
      },
    );
  });

  it('bounds the whole call, retries included, by the deadline, and cancels it', async (t) => {
    await withUserServer(
      (attempt) => (attempt === 1 ? status.UNAVAILABLE : 'hang'),
      async (server, target) => {
        const timeoutMs = 300;
        const { client, directory } = directoryFor(target, { retryAttempts: 3, timeoutMs });
        const startedAt = Date.now();
        assert.equal(await outcomeOf(directory.assertUserExists(USER, context())), Code.DEADLINE_EXCEEDED);
        const elapsed = Date.now() - startedAt;
        client.close();
        assert.equal(server.attempts, 2, 'the retry was made, and then the deadline ended it');
        // A correctness bound, not a speed test: a call that ignored its deadline would hang for
        // good (the fake never answers); 2 s of margin absorbs any scheduling delay.
        assert.ok(elapsed < timeoutMs + 2000, `ended after ${elapsed} ms`);
        t.diagnostic(`deadline ${timeoutMs} ms, call ended after ${elapsed} ms`);
      },
    );
  });
});

describe('Order -> User load balancing', () => {
  let replicas: FakeUserServer[];
  let ports: number[];

  before(async () => {
    replicas = [new FakeUserServer(() => status.OK), new FakeUserServer(() => status.OK)];
    ports = await Promise.all(replicas.map((replica) => replica.start()));
  });
  after(() => replicas.forEach((replica) => replica.stop()));

  it('spreads calls over every address the target resolves to (round_robin)', async (t) => {
    // dns:/// resolves one name to many addresses; two replicas on one loopback address
    // differ only by port, which grpc-js's ipv4: target lists directly.
    const { client, directory } = directoryFor(`ipv4:${ports.map((port) => `127.0.0.1:${port}`).join(',')}`);
    for (let i = 0; i < 40; i++) await directory.assertUserExists(USER, context());
    client.close();
    const counts = replicas.map((replica) => replica.attempts);
    t.diagnostic(`GetUser calls per replica: ${counts.join(', ')}`);
    assert.equal(counts[0]! + counts[1]!, 40);
    // pick_first, grpc's default, would send all 40 to one replica; round_robin alternates
    // once both are connected, which takes the first call or two.
    for (const count of counts) assert.ok(count >= 15, `each replica got its share: ${counts.join(', ')}`);
  });
});

/** A UserServiceClient that answers each call with the next scripted outcome, and counts calls. */
function scriptedClient(next: () => status) {
  let calls = 0;
  const client = {
    getUser(_request: unknown, _metadata: Metadata, _options: unknown, callback: (error: ServiceError | null) => void) {
      calls++;
      const code = next();
      setImmediate(() =>
        callback(
          code === status.OK ? null : Object.assign(new Error(status[code]), { code, details: status[code], metadata: new Metadata() }),
        ),
      );
      return { cancel: () => undefined };
    },
  } as unknown as UserServiceClient;
  return { client, calls: () => calls };
}

describe('the circuit breaker around User calls', () => {
  const settings: CircuitBreakerSettings = { errorThresholdPercent: 50, volumeThreshold: 4, resetTimeoutMs: 100 };

  function guarded(next: () => status) {
    const registry = createRegistry();
    const logLines: Record<string, unknown>[] = [];
    const logger = createLogger({
      name: 'order-service',
      level: 'info',
      destination: { write: (line: string) => void logLines.push(JSON.parse(line)) },
    });
    const breaker = userServiceBreaker(settings, { registry, logger });
    const { client, calls } = scriptedClient(next);
    const directory = new GrpcUserDirectory(new Dependency({ client, timeoutMs: 1000, breaker }));
    return { breaker, directory, calls, registry, logLines, call: () => outcomeOf(directory.assertUserExists(USER, context())) };
  }

  async function metric(registry: MetricsRegistry, name: string, labels: Record<string, string> = {}): Promise<number> {
    const { body } = await renderMetrics(registry, 'text/plain');
    return sampleValue(parseSamples(body), name, { breaker: 'user-service', ...labels });
  }

  async function waitForHalfOpen(breaker: { state: string }): Promise<void> {
    const giveUpAt = Date.now() + 5000;
    while (breaker.state !== 'half_open') {
      assert.ok(Date.now() < giveUpAt, `still ${breaker.state} 5 s after a reset timeout of ${settings.resetTimeoutMs} ms`);
      await sleep(10);
    }
  }

  it('opens when most calls find User unavailable, then answers UNAVAILABLE at once without calling User', async () => {
    const { breaker, calls, registry, logLines, call, directory } = guarded(() => status.UNAVAILABLE);
    assert.equal(await metric(registry, 'circuit_breaker_state'), 0, 'closed to begin with');
    for (let i = 0; i < settings.volumeThreshold; i++) assert.equal(await call(), Code.UNAVAILABLE);
    assert.equal(breaker.state, 'open');

    const rejected = await directory.assertUserExists(USER, context()).then(
      () => assert.fail('an open circuit let the call through'),
      (error: unknown) => error as AppError,
    );
    assert.equal(rejected.code, Code.UNAVAILABLE);
    assert.equal(rejected.message, 'user service circuit open; retry later');
    assert.equal(calls(), settings.volumeThreshold, 'the rejected call never reached User');

    assert.equal(await metric(registry, 'circuit_breaker_state'), 2);
    assert.equal(await metric(registry, 'circuit_breaker_transitions_total', { to: 'open' }), 1);
    assert.equal(await metric(registry, 'circuit_breaker_rejected_total'), 1);
    const opened = logLines.find((line) => /circuit user-service open/.test(String(line.message)));
    assert.equal(opened?.['log.level'], 'warn');
    breaker.close();
  });

  it("does not count the caller's mistakes or its cancellations as User failing", async () => {
    const answers = [status.NOT_FOUND, status.INVALID_ARGUMENT, status.FAILED_PRECONDITION, status.CANCELLED, status.ALREADY_EXISTS];
    let n = 0;
    const { breaker, calls, call } = guarded(() => answers[n++ % answers.length]!);
    for (let i = 0; i < 20; i++) await call();
    assert.equal(breaker.state, 'closed');
    assert.equal(calls(), 20, 'every call reached User');
    breaker.close();
  });

  it('half-opens after the reset timeout; a successful probe closes it', async () => {
    let answer: status = status.UNAVAILABLE;
    const { breaker, registry, logLines, call } = guarded(() => answer);
    for (let i = 0; i < settings.volumeThreshold; i++) await call();
    assert.equal(breaker.state, 'open');
    await waitForHalfOpen(breaker);
    assert.equal(await metric(registry, 'circuit_breaker_state'), 1);

    answer = status.OK;
    assert.equal(await call(), Code.OK, 'the probe reaches User');
    assert.equal(breaker.state, 'closed');
    assert.equal(await metric(registry, 'circuit_breaker_state'), 0);
    assert.equal(await metric(registry, 'circuit_breaker_transitions_total', { to: 'half_open' }), 1);
    assert.equal(await metric(registry, 'circuit_breaker_transitions_total', { to: 'closed' }), 1);
    const closed = logLines.find((line) => /circuit user-service closed/.test(String(line.message)));
    assert.equal(closed?.['log.level'], 'info');
    breaker.close();
  });

  it('lets one probe through while half-open, and opens again when it fails', async () => {
    const { breaker, calls, registry, call } = guarded(() => status.UNAVAILABLE);
    for (let i = 0; i < settings.volumeThreshold; i++) await call();
    await waitForHalfOpen(breaker);
    const before = calls();
    const outcomes = await Promise.all([call(), call(), call()]);
    assert.equal(calls() - before, 1, 'one probe reached User; the others were turned away');
    assert.deepEqual(outcomes, [Code.UNAVAILABLE, Code.UNAVAILABLE, Code.UNAVAILABLE]);
    assert.equal(breaker.state, 'open');
    assert.equal(await metric(registry, 'circuit_breaker_transitions_total', { to: 'open' }), 2);
    breaker.close();
  });
});

describe('USER_SERVICE_* configuration', () => {
  it('has defaults, reads every variable, and names each bad one', () => {
    assert.deepEqual(loadConfig({}).userServiceResilience, USER_SERVICE_RESILIENCE_DEFAULTS);
    const config = loadConfig({
      USER_SERVICE_ADDR: 'ipv4:127.0.0.1:50061,127.0.0.1:50062',
      USER_SERVICE_RETRY_ATTEMPTS: '5',
      USER_SERVICE_BREAKER_ERROR_THRESHOLD_PERCENT: '25',
      USER_SERVICE_BREAKER_VOLUME_THRESHOLD: '3',
      USER_SERVICE_BREAKER_RESET_TIMEOUT_MS: '500',
    });
    assert.equal(config.userServiceAddr, 'ipv4:127.0.0.1:50061,127.0.0.1:50062');
    assert.deepEqual(config.userServiceResilience, {
      retryAttempts: 5,
      breaker: { errorThresholdPercent: 25, volumeThreshold: 3, resetTimeoutMs: 500 },
    });
    assert.throws(
      () =>
        loadConfig({
          USER_SERVICE_RETRY_ATTEMPTS: '6',
          USER_SERVICE_BREAKER_ERROR_THRESHOLD_PERCENT: '0',
          USER_SERVICE_BREAKER_VOLUME_THRESHOLD: 'many',
          USER_SERVICE_BREAKER_RESET_TIMEOUT_MS: '-1',
        }),
      (error: Error) =>
        [
          'USER_SERVICE_RETRY_ATTEMPTS',
          'USER_SERVICE_BREAKER_ERROR_THRESHOLD_PERCENT',
          'USER_SERVICE_BREAKER_VOLUME_THRESHOLD',
          'USER_SERVICE_BREAKER_RESET_TIMEOUT_MS',
        ].every((name) => error.message.includes(name)),
    );
  });
});
