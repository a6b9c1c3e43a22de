import { ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js';
import { grpcMethodLabels, type Logger, type MetricsRegistry } from '@platform/telemetry';
import { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitConfig } from './rate-limit-config';
import { AppError, toGrpcStatus } from './errors';
import type { ServerFeature } from './server-feature';
import type { WebCallAdmission } from './web/bridge';

/** Probes and tooling must get through however busy a caller is. */
const EXEMPT_METHOD = /^\/grpc\.(health\.v1|reflection\.v1(alpha)?)\./;
/** The caller's own name for itself; without it, the peer address stands for the caller. */
export const CLIENT_ID_METADATA_KEY = 'x-client-id';
/** Bounds the keys a caller can make us store. */
const MAX_CLIENT_ID_LENGTH = 128;
/** A Redis slower than this lets the call through rather than hold it up. */
const REDIS_COMMAND_TIMEOUT_MS = 250;
/** While Redis is down every call fails to be counted: one log line per interval says so. */
const FAILURE_LOG_INTERVAL_MS = 30_000;

export interface RateLimiterOptions extends RateLimitConfig {
  /** Where grpc_server_rate_limited_total and rate_limiter_failures_total are registered. */
  registry: MetricsRegistry;
  logger: Logger;
}

/**
 * Limits calls per caller and per gRPC service, as a grpc-js server
 * interceptor: a caller over its budget gets RESOURCE_EXHAUSTED with
 * google.rpc.RetryInfo saying when to try again, before any handler runs.
 * The caller is the `x-client-id` metadata, else the peer address (without
 * port). `x-client-id` is what the caller says it is, not proof: it keeps
 * well-behaved clients behind one NAT apart, it does not stop a hostile one.
 *
 * With a Redis URL the budgets live in Redis, so that every replica draws on
 * the same one; without it each replica counts on its own. Health and
 * reflection are never limited.
 */
export class RateLimiter implements ServerFeature {
  readonly name = 'rate limiting';
  readonly #limiter: { consume(key: string): Promise<RateLimiterRes> };
  readonly #redis: Redis | undefined;
  readonly #logger: Logger;
  readonly #limited: Counter<'grpc_service' | 'grpc_method'>;
  readonly #failures: Counter;
  readonly #perSecond: number;
  #lastFailureLog = -Infinity;
  #unloggedFailures = 0;

  constructor(options: RateLimiterOptions) {
    const { perSecond, burst, redisUrl, registry, logger, keyPrefix = 'grpc-rate-limit' } = options;
    this.#logger = logger;
    this.#perSecond = perSecond;
    this.#limited = new Counter({
      name: 'grpc_server_rate_limited_total',
      help: 'Calls rejected with RESOURCE_EXHAUSTED because their caller was over its rate limit, by method.',
      labelNames: ['grpc_service', 'grpc_method'],
      registers: [registry],
    });
    this.#failures = new Counter({
      name: 'rate_limiter_failures_total',
      help: 'Calls let through unchecked because the rate limiter could not count them (Redis unreachable or slow).',
      registers: [registry],
    });
    // No offline queue: while Redis is away a check fails at once instead of waiting for it.
    this.#redis =
      redisUrl === undefined ? undefined : new Redis(redisUrl, { enableOfflineQueue: false, commandTimeout: REDIS_COMMAND_TIMEOUT_MS });
    this.#redis?.on('error', (error: unknown) => this.#reportFailure(error));
    const limiter = (prefix: string, points: number, duration: number) =>
      this.#redis
        ? new RateLimiterRedis({ storeClient: this.#redis, keyPrefix: prefix, points, duration, rejectIfRedisNotReady: true })
        : new RateLimiterMemory({ keyPrefix: prefix, points, duration });
    const steady = limiter(keyPrefix, perSecond, 1);
    // The burst allowance is earned back at the steady rate: `burst` calls take burst / perSecond seconds.
    this.#limiter =
      burst > 0 ? new BurstyRateLimiter(steady, limiter(`${keyPrefix}:burst`, burst, Math.max(1, Math.ceil(burst / perSecond)))) : steady;
  }

  readonly interceptor: ServerInterceptor = (method, call) => {
    if (EXEMPT_METHOD.test(method.path)) return new ServerInterceptingCall(call);
    const labels = grpcMethodLabels(method.path);
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const [clientId] = metadata.get(CLIENT_ID_METADATA_KEY);
            const caller = callerKey(typeof clientId === 'string' ? clientId : undefined, call.getConnectionInfo().remoteAddress);
            void this.#retryDelayMs(`${labels.grpc_service}:${caller}`).then((retryDelayMs) => {
              if (retryDelayMs === undefined) nextMetadata(metadata);
              // Sent inward, through the telemetry interceptors, so the rejection is counted and logged like any status.
              else call.sendStatus(toGrpcStatus(this.#rejection(labels, retryDelayMs)));
            });
          },
        }),
    });
  };

  readonly admitWebCall: WebCallAdmission = async ({ path, clientId, peer }) => {
    if (EXEMPT_METHOD.test(path)) return;
    const labels = grpcMethodLabels(path);
    const retryDelayMs = await this.#retryDelayMs(`${labels.grpc_service}:${callerKey(clientId, peer)}`);
    if (retryDelayMs !== undefined) throw this.#rejection(labels, retryDelayMs);
  };

  #rejection(labels: { grpc_service: string; grpc_method: string }, retryDelayMs: number): AppError {
    this.#limited.inc(labels);
    return AppError.resourceExhausted(
      `rate limit exceeded: at most ${this.#perSecond} calls per second per caller; retry in ${retryDelayMs} ms`,
      retryDelayMs,
    );
  }

  /** Closes the Redis connection; after the server has drained. */
  close(): void {
    this.#redis?.disconnect();
  }

  /** Takes one call from the caller's budget: undefined when it may go ahead, else how long until it may. */
  async #retryDelayMs(key: string): Promise<number | undefined> {
    try {
      await this.#limiter.consume(key);
      return undefined;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejection.msBeforeNext));
      // Fail open: an outage of the rate limiter's store must not become an outage of the service.
      this.#failures.inc();
      this.#reportFailure(rejection);
      return undefined;
    }
  }

  /** Logs at most once per interval, with how many failures went unlogged since. */
  #reportFailure(error: unknown): void {
    this.#unloggedFailures += 1;
    const now = performance.now();
    if (now - this.#lastFailureLog < FAILURE_LOG_INTERVAL_MS) return;
    this.#logger.warn({ err: error, failures: this.#unloggedFailures }, 'rate limiter unavailable; letting calls through unchecked');
    this.#lastFailureLog = now;
    this.#unloggedFailures = 0;
  }
}

/** The caller's `x-client-id`, else its address (without port). */
function callerKey(clientId: string | undefined, address: string | undefined): string {
  if (clientId !== undefined && clientId !== '') return `id:${clientId.slice(0, MAX_CLIENT_ID_LENGTH)}`;
  return `peer:${address ?? 'unknown'}`;
}
