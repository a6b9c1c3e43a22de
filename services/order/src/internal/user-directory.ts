import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { AppError, Code, type CallContext, type Logger } from '@platform/service-kit';
import type { MetricsRegistry } from '@platform/telemetry';
import type { UserServiceClient } from '../api/user/v1/user';
import { CircuitBreakerGuard, type CircuitBreakerSettings } from './circuit-breaker';

/** What Order needs to know about users. */
export interface UserDirectory {
  /** Throws FAILED_PRECONDITION when the user does not exist, UNAVAILABLE when that cannot be known. */
  assertUserExists(userId: string, context: CallContext): Promise<void>;
}

export interface GrpcUserDirectoryOptions {
  client: UserServiceClient;
  /** Upper bound of one call, retries included; the incoming call's deadline wins when it is sooner. */
  timeoutMs: number;
  /** Guards every call (see userServiceBreaker); tests of the call alone leave it out. */
  breaker?: CircuitBreakerGuard;
}

export class GrpcUserDirectory implements UserDirectory {
  constructor(private readonly options: GrpcUserDirectoryOptions) {}

  async assertUserExists(userId: string, context: CallContext): Promise<void> {
    const { breaker } = this.options;
    const call = () => this.getUser(userId, context);
    try {
      await (breaker ? breaker.run(call) : call());
    } catch (error) {
      // The breaker's own UNAVAILABLE is already an AppError; User's answers are translated.
      throw error instanceof AppError ? error : translate(error as ServiceError, userId);
    }
  }

  private getUser(userId: string, context: CallContext): Promise<void> {
    const deadline = Math.min(Date.now() + this.options.timeoutMs, deadlineMs(context.deadline));
    return new Promise((resolve, reject) => {
      const call = this.options.client.getUser({ id: userId }, new Metadata(), { deadline }, (error) => {
        context.signal.removeEventListener('abort', cancel);
        if (error) reject(error);
        else resolve();
      });
      const cancel = () => call.cancel();
      context.signal.addEventListener('abort', cancel, { once: true });
    });
  }
}

/**
 * User's answers that say it, or the way to it, is unwell: only these count
 * towards opening the circuit. The others say User is working: the request
 * was wrong (INVALID_ARGUMENT, NOT_FOUND ...) or our own caller gave up
 * (CANCELLED).
 */
const USER_UNWELL: ReadonlySet<number> = new Set([
  Code.UNAVAILABLE,
  Code.RESOURCE_EXHAUSTED,
  Code.DEADLINE_EXCEEDED,
  Code.INTERNAL,
  Code.UNKNOWN,
  Code.DATA_LOSS,
  Code.UNIMPLEMENTED,
]);

/** The circuit breaker for calls to User, which counts User's answers as USER_UNWELL says. */
export function userServiceBreaker(
  settings: CircuitBreakerSettings,
  telemetry: { registry: MetricsRegistry; logger: Logger },
): CircuitBreakerGuard {
  return new CircuitBreakerGuard({
    name: 'user-service',
    settings,
    registry: telemetry.registry,
    logger: telemetry.logger,
    isFailure: (error) => USER_UNWELL.has((error as Partial<ServiceError>).code ?? Code.UNKNOWN),
    openMessage: 'user service circuit open; retry later',
  });
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
