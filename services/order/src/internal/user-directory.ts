import type { ChannelCredentials, Interceptor, ServiceError } from '@grpc/grpc-js';
import {
  AppError,
  CircuitBreakerGuard,
  Code,
  createClient,
  type CallContext,
  type CircuitBreakerSettings,
  type Dependency,
  type Logger,
} from '@platform/service-kit';
import type { MetricsRegistry } from '@platform/telemetry';
import { UserServiceClient } from '@platform/contracts/user/v1/user';

/** What Order needs to know about users. */
export interface UserDirectory {
  /** Throws FAILED_PRECONDITION when the user does not exist, UNAVAILABLE when that cannot be known. */
  assertUserExists(userId: string, context: CallContext): Promise<void>;
}

/** The user service, asked over gRPC; its answers said in terms of the order being placed. */
export class GrpcUserDirectory implements UserDirectory {
  constructor(private readonly userService: Dependency<UserServiceClient>) {}

  async assertUserExists(userId: string, context: CallContext): Promise<void> {
    try {
      await this.userService.unary('getUser', { id: userId }, context);
    } catch (error) {
      // The breaker's own UNAVAILABLE is already an AppError; User's answers are translated.
      throw error instanceof AppError ? error : translate(error as ServiceError, userId);
    }
  }
}

/** The client of User: GetUser, a read and so safe to repeat, is retried when User is UNAVAILABLE. */
export function userServiceClient(options: {
  target: string;
  credentials: ChannelCredentials;
  /** Attempts per GetUser, the first included; 1 turns retries off. */
  retryAttempts: number;
  interceptors: Interceptor[];
}): UserServiceClient {
  const { retryAttempts, ...channel } = options;
  return createClient(UserServiceClient, { ...channel, retry: { methods: ['getUser'], attempts: retryAttempts } });
}

/** The circuit breaker around calls to User (the `breaker="user-service"` series). */
export function userServiceBreaker(
  settings: CircuitBreakerSettings,
  telemetry: { registry: MetricsRegistry; logger: Logger },
): CircuitBreakerGuard {
  return new CircuitBreakerGuard({ name: 'user-service', settings, ...telemetry, openMessage: 'user service circuit open; retry later' });
}

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
