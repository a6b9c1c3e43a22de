import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentials, type Metadata, status, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { createLogger, createRegistry } from '@platform/telemetry';
import { FaultServiceClient } from '@platform/contracts/fault/v1/fault';
import { serviceError, testCallContext } from '@platform/testing';
import { CircuitBreakerGuard, createClient, Dependency, isDependencyUnwell } from '../src';

/** A client with one unary method, `lookUp`, that records its call options and answers with `outcome`. */
function recordingClient(outcome: () => ServiceError | null) {
  const calls: { options: Partial<CallOptions>; cancelled: boolean }[] = [];
  let closed = false;
  const client = {
    lookUp(
      _request: { id: string },
      _metadata: Metadata,
      options: Partial<CallOptions>,
      callback: (error: ServiceError | null, response: { found: boolean }) => void,
    ): ClientUnaryCall {
      const call = { options, cancelled: false };
      calls.push(call);
      setImmediate(() => callback(outcome(), { found: true }));
      return { cancel: () => (call.cancelled = true) } as unknown as ClientUnaryCall;
    },
    close: () => void (closed = true),
  };
  return { client, calls, closed: () => closed };
}

const context = (deadline: Date | number, signal?: AbortSignal) => testCallContext('/test.v1.Test/Call', deadline, signal);

describe('calls to a dependency', () => {
  it("take the caller's deadline when it is sooner than the configured timeout", async () => {
    const { client, calls } = recordingClient(() => null);
    const dependency = new Dependency({ client, timeoutMs: 60_000 });
    const callerDeadline = Date.now() + 250;
    assert.deepEqual(await dependency.unary('lookUp', { id: 'a' }, context(new Date(callerDeadline))), { found: true });
    assert.equal(calls[0]!.options.deadline, callerDeadline);
  });

  it('use the configured timeout when the caller has no deadline', async () => {
    const { client, calls } = recordingClient(() => null);
    const before = Date.now();
    await new Dependency({ client, timeoutMs: 2000 }).unary('lookUp', { id: 'a' }, context(Infinity));
    const deadline = calls[0]!.options.deadline as number;
    assert.ok(deadline >= before + 2000 && deadline <= Date.now() + 2000, `deadline ${deadline - before} ms ahead`);
  });

  it('cancel the outgoing call when the caller cancels', async () => {
    const { client, calls } = recordingClient(() => null);
    const controller = new AbortController();
    const pending = new Dependency({ client, timeoutMs: 2000 }).unary('lookUp', { id: 'a' }, context(Infinity, controller.signal));
    controller.abort();
    await pending;
    assert.equal(calls[0]!.cancelled, true);
  });

  it("reject with the dependency's own error, for the caller to translate", async () => {
    const { client } = recordingClient(() => serviceError(status.NOT_FOUND));
    await assert.rejects(new Dependency({ client, timeoutMs: 2000 }).unary('lookUp', { id: 'a' }, context(Infinity)), {
      code: status.NOT_FOUND,
    });
  });

  it('go through the breaker, which opens on answers that say the dependency is unwell, and close both', async () => {
    let answer = status.NOT_FOUND;
    const { client, calls, closed } = recordingClient(() => serviceError(answer));
    const breaker = new CircuitBreakerGuard({
      name: 'lookup-service',
      settings: { errorThresholdPercent: 50, volumeThreshold: 2, resetTimeoutMs: 60_000 },
      registry: createRegistry(),
      logger: createLogger({ name: 'test', level: 'silent' }),
    });
    const dependency = new Dependency({ client, timeoutMs: 2000, breaker });
    const call = () =>
      dependency.unary('lookUp', { id: 'a' }, context(Infinity)).then(
        () => ({ code: status.OK, message: '' }),
        (error: { code: number; message: string }) => error,
      );
    for (let i = 0; i < 3; i++) await call();
    assert.equal(breaker.state, 'closed', 'NOT_FOUND is the dependency answering');
    answer = status.UNAVAILABLE;
    for (let i = 0; i < 6; i++) await call();
    assert.equal(breaker.state, 'open');
    const sent = calls.length;
    const rejected = await call();
    assert.equal(rejected.code, status.UNAVAILABLE);
    assert.equal(rejected.message, 'lookup-service circuit open; retry later');
    assert.equal(calls.length, sent, 'an open circuit does not call the dependency');
    dependency.close();
    assert.equal(closed(), true);
  });
});

describe('isDependencyUnwell', () => {
  it("counts the dependency's server faults and its shedding of load, not the caller's mistakes or cancellations", () => {
    const unwell = Object.values(status)
      .filter((code): code is status => typeof code === 'number' && isDependencyUnwell(serviceError(code)))
      .sort((a, b) => a - b);
    assert.deepEqual(unwell, [
      status.UNKNOWN,
      status.DEADLINE_EXCEEDED,
      status.RESOURCE_EXHAUSTED,
      status.UNIMPLEMENTED,
      status.INTERNAL,
      status.UNAVAILABLE,
      status.DATA_LOSS,
    ]);
  });
});

describe('createClient', () => {
  it('refuses to retry a method the service does not have', () => {
    assert.throws(
      () =>
        createClient(FaultServiceClient, {
          target: '127.0.0.1:1',
          credentials: credentials.createInsecure(),
          retry: { methods: ['listFaults', 'noSuchMethod' as 'listFaults'], attempts: 3 },
          interceptors: [],
        }),
      /no method noSuchMethod to retry/,
    );
  });
});
