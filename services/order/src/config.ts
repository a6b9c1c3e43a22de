import { envVar, parseEnv, serviceEnvShape, toServiceConfig, type CircuitBreakerSettings, type ServiceConfig } from '@platform/service-kit';

/** How Order copes with a user service that fails or is gone. */
export interface UserServiceResilience {
  /** Attempts per GetUser when User is UNAVAILABLE, the first included; 1 turns retries off. */
  retryAttempts: number;
  breaker: CircuitBreakerSettings;
}

export const USER_SERVICE_RESILIENCE_DEFAULTS: UserServiceResilience = {
  retryAttempts: 3,
  // Opens when more than half of at least 10 calls in 10 s fail, and probes again after 10 s.
  breaker: { errorThresholdPercent: 50, volumeThreshold: 10, resetTimeoutMs: 10_000 },
};

/**
 * The default receive limit: the largest valid request is a CreateOrder of
 * 100 items (a 64-character SKU, quantity and price: about 85 bytes each) and
 * a 128-character request_id of 4-byte characters, about 9 KiB; 64 KiB leaves
 * room and refuses a megabyte before decoding.
 */
const MAX_REQUEST_BYTES = 64 * 1024;

export interface OrderServiceConfig extends ServiceConfig {
  /** gRPC target of user.v1.UserService. */
  userServiceAddr: string;
  /** Deadline of a call to the user service, shortened further by the incoming call's own deadline. */
  userServiceTimeoutMs: number;
  /** Retries and circuit breaker; USER_SERVICE_RESILIENCE_DEFAULTS when left out (as tests that do not look at them do). */
  userServiceResilience?: UserServiceResilience;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): OrderServiceConfig {
  const defaults = USER_SERVICE_RESILIENCE_DEFAULTS;
  const parsed = parseEnv(
    {
      ...serviceEnvShape({ grpcPort: 50052, metricsPort: 9465, maxReceiveMessageBytes: MAX_REQUEST_BYTES }),
      USER_SERVICE_ADDR: envVar.grpcTarget('localhost:50051'),
      USER_SERVICE_TIMEOUT_MS: envVar.milliseconds(2_000),
      // grpc-js caps attempts at 5.
      USER_SERVICE_RETRY_ATTEMPTS: envVar.count(defaults.retryAttempts, 1, 5),
      // A percentage of failed calls.
      USER_SERVICE_BREAKER_ERROR_THRESHOLD_PERCENT: envVar.count(defaults.breaker.errorThresholdPercent, 1, 100),
      USER_SERVICE_BREAKER_VOLUME_THRESHOLD: envVar.count(defaults.breaker.volumeThreshold, 1),
      USER_SERVICE_BREAKER_RESET_TIMEOUT_MS: envVar.milliseconds(defaults.breaker.resetTimeoutMs),
    },
    env,
  );
  return {
    ...toServiceConfig(parsed),
    userServiceAddr: parsed.USER_SERVICE_ADDR,
    userServiceTimeoutMs: parsed.USER_SERVICE_TIMEOUT_MS,
    userServiceResilience: {
      retryAttempts: parsed.USER_SERVICE_RETRY_ATTEMPTS,
      breaker: {
        errorThresholdPercent: parsed.USER_SERVICE_BREAKER_ERROR_THRESHOLD_PERCENT,
        volumeThreshold: parsed.USER_SERVICE_BREAKER_VOLUME_THRESHOLD,
        resetTimeoutMs: parsed.USER_SERVICE_BREAKER_RESET_TIMEOUT_MS,
      },
    },
  };
}
