import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { AppError, Code, type CallContext } from '@platform/service-kit';
import type { UserServiceClient } from '../api/user/v1/user';

/** What Order needs to know about users. */
export interface UserDirectory {
  /** Throws FAILED_PRECONDITION when the user does not exist, UNAVAILABLE when that cannot be known. */
  assertUserExists(userId: string, context: CallContext): Promise<void>;
}

export interface GrpcUserDirectoryOptions {
  client: UserServiceClient;
  /** Upper bound of one call; the incoming call's deadline wins when it is sooner. */
  timeoutMs: number;
}

export class GrpcUserDirectory implements UserDirectory {
  constructor(private readonly options: GrpcUserDirectoryOptions) {}

  assertUserExists(userId: string, context: CallContext): Promise<void> {
    const deadline = Math.min(Date.now() + this.options.timeoutMs, deadlineMs(context.deadline));
    return new Promise((resolve, reject) => {
      const call = this.options.client.getUser({ id: userId }, new Metadata(), { deadline }, (error) => {
        context.signal.removeEventListener('abort', cancel);
        if (error) reject(translate(error, userId));
        else resolve();
      });
      const cancel = () => call.cancel();
      context.signal.addEventListener('abort', cancel, { once: true });
    });
  }
}

/** The user service's answer in terms of the order being placed. */
function translate(error: ServiceError, userId: string): AppError {
  switch (error.code) {
    case Code.NOT_FOUND:
      return AppError.failedPrecondition(`user ${userId} does not exist`);
    case Code.UNAVAILABLE:
    case Code.RESOURCE_EXHAUSTED:
      return AppError.unavailable('the user service is unavailable; retry later', error);
    case Code.DEADLINE_EXCEEDED:
      return new AppError(Code.DEADLINE_EXCEEDED, 'the user service did not answer in time', [], { cause: error });
    case Code.CANCELLED:
      return new AppError(Code.CANCELLED, 'cancelled by the caller', [], { cause: error });
    default:
      // Anything else is a bug on one side or the other: INTERNAL, cause logged, not sent.
      return new AppError(Code.INTERNAL, 'internal error', [], { cause: error });
  }
}

function deadlineMs(deadline: Date | number): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}
