import { z } from 'zod';
import { envVar } from './env';

/** Rate limiting's section of the configuration: per caller; see RateLimiter. */
export interface RateLimitConfig {
  /** Calls per second each caller may make. */
  perSecond: number;
  /** Calls a caller may make beyond perSecond in a spike, earned back at perSecond. */
  burst: number;
  /** Set: replicas share each caller's budget through this Redis; otherwise each replica counts alone. */
  redisUrl: string | undefined;
  /** Prefix of the budget keys; replicas sharing it share budgets. Tests give each run its own. */
  keyPrefix?: string;
}

/** Rate limiting's environment variables; spread into serviceEnvShape. */
export const rateLimitEnvShape = {
  // 0: no rate limiting.
  RATE_LIMIT_PER_SECOND: envVar.count(0),
  RATE_LIMIT_BURST: envVar.count(0),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
};

/** The section, or undefined when off; settings that would do nothing are added to `problems`, as mistakes worth stopping for. */
export function toRateLimitConfig(
  parsed: z.output<z.ZodObject<typeof rateLimitEnvShape>>,
  problems: string[],
): RateLimitConfig | undefined {
  if (parsed.RATE_LIMIT_PER_SECOND === 0) {
    if (parsed.RATE_LIMIT_BURST > 0) problems.push('RATE_LIMIT_BURST: set while rate limiting is off; also set RATE_LIMIT_PER_SECOND');
    if (parsed.REDIS_URL !== undefined) problems.push('REDIS_URL: set while rate limiting is off; also set RATE_LIMIT_PER_SECOND');
    return undefined;
  }
  return { perSecond: parsed.RATE_LIMIT_PER_SECOND, burst: parsed.RATE_LIMIT_BURST, redisUrl: parsed.REDIS_URL };
}
