import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metadata, status, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { AppError, Code, type CallContext } from '@platform/service-kit';
import type { UserServiceClient } from '../src/api/user/v1/user';
import { GrpcUserDirectory } from '../src/internal/user-directory';

const USER = '9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

/** A UserServiceClient that records the call options and answers with `outcome`. */
function recordingClient(outcome: ServiceError | null) {
  const calls: { options: Partial<CallOptions>; cancelled: boolean }[] = [];
  const client = {
    getUser(_request: unknown, _metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null) => void) {
      const call = { options, cancelled: false };
      calls.push(call);
      setImmediate(() => callback(outcome));
      return { cancel: () => (call.cancelled = true) };
    },
  } as unknown as UserServiceClient;
  return { client, calls };
}

function context(deadline: Date | number, signal = new AbortController().signal): CallContext {
  return {
    method: '/order.v1.OrderService/CreateOrder',
    metadata: new Metadata(),
    deadline,
    peer: 'test',
    signal,
    sendHeaders: () => undefined,
  };
}

function grpcError(code: status): ServiceError {
  return Object.assign(new Error(`code ${code}`), { code, details: `code ${code}`, metadata: new Metadata() });
}

describe('Order -> User calls', () => {
  it("take the caller's deadline when it is sooner than the configured timeout", async () => {
    const { client, calls } = recordingClient(null);
    const directory = new GrpcUserDirectory({ client, timeoutMs: 60_000 });
    const callerDeadline = Date.now() + 250;
    await directory.assertUserExists(USER, context(new Date(callerDeadline)));
    assert.equal(calls[0]!.options.deadline, callerDeadline);
  });

  it('use the configured timeout when the caller has no deadline', async () => {
    const { client, calls } = recordingClient(null);
    const before = Date.now();
    await new GrpcUserDirectory({ client, timeoutMs: 2000 }).assertUserExists(USER, context(Infinity));
    const deadline = calls[0]!.options.deadline as number;
    assert.ok(deadline >= before + 2000 && deadline <= Date.now() + 2000, `deadline ${deadline - before} ms ahead`);
  });

  it('cancel the User call when the caller cancels', async () => {
    const { client, calls } = recordingClient(null);
    const controller = new AbortController();
    const pending = new GrpcUserDirectory({ client, timeoutMs: 2000 }).assertUserExists(USER, context(Infinity, controller.signal));
    controller.abort();
    await pending;
    assert.equal(calls[0]!.cancelled, true);
  });

  it('translate the User service answers into the order being placed', async () => {
    const expectations: [status, Code][] = [
      [status.NOT_FOUND, Code.FAILED_PRECONDITION],
      [status.UNAVAILABLE, Code.UNAVAILABLE],
      [status.DEADLINE_EXCEEDED, Code.DEADLINE_EXCEEDED],
      [status.INTERNAL, Code.INTERNAL],
      [status.INVALID_ARGUMENT, Code.INTERNAL],
    ];
    for (const [answer, expected] of expectations) {
      const { client } = recordingClient(grpcError(answer));
      await assert.rejects(
        new GrpcUserDirectory({ client, timeoutMs: 2000 }).assertUserExists(USER, context(Infinity)),
        (error: unknown) => error instanceof AppError && error.code === expected,
        `User answering ${answer}`,
      );
    }
  });
});
