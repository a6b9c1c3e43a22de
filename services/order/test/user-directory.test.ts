import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Metadata, status, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { AppError, Code, Dependency } from '@platform/service-kit';
import { serviceError, testCallContext } from '@platform/testing';
import type { UserServiceClient } from '@platform/contracts/user/v1/user';
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

const context = (deadline: Date | number, signal?: AbortSignal) => testCallContext('/order.v1.OrderService/CreateOrder', deadline, signal);

describe('Order -> User calls', () => {
  it('translate the User service answers into the order being placed', async () => {
    const expectations: [status, Code][] = [
      [status.NOT_FOUND, Code.FAILED_PRECONDITION],
      [status.UNAVAILABLE, Code.UNAVAILABLE],
      [status.DEADLINE_EXCEEDED, Code.DEADLINE_EXCEEDED],
      [status.INTERNAL, Code.INTERNAL],
      [status.INVALID_ARGUMENT, Code.INTERNAL],
    ];
    for (const [answer, expected] of expectations) {
      const { client } = recordingClient(serviceError(answer));
      await assert.rejects(
        new GrpcUserDirectory(new Dependency({ client, timeoutMs: 2000 })).assertUserExists(USER, context(Infinity)),
        (error: unknown) => error instanceof AppError && error.code === expected,
        `User answering ${answer}`,
      );
    }
  });
});
