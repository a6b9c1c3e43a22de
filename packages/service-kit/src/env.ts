import { z } from 'zod';
import { UsageError } from './usage-error';

/** Start-up configuration is invalid; the message lists every offending variable. */
export class ConfigError extends UsageError {
  override readonly name = 'ConfigError';

  /** One message for every problem, each `VARIABLE: what is wrong`. */
  static of(problems: readonly string[]): ConfigError {
    return new ConfigError(`invalid configuration:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
  }
}

/**
 * Parses environment variables once, at start-up, against a schema. Empty
 * values count as unset so that `FOO=` in a Compose file means "use the default".
 */
export function parseEnv<Shape extends z.ZodRawShape>(shape: Shape, env: NodeJS.ProcessEnv = process.env): z.output<z.ZodObject<Shape>> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = z.object(shape).safeParse(present);
  if (!result.success) {
    throw ConfigError.of(result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  return result.data;
}

/** Schemas for the variable kinds every service uses. */
export const envVar = {
  port: (defaultPort: number) =>
    z.coerce
      .number({ error: 'must be a port number' })
      .int({ error: 'must be a port number' })
      .min(0, { error: 'must be a port number (0-65535)' })
      .max(65535, { error: 'must be a port number (0-65535)' })
      .default(defaultPort),
  milliseconds: (defaultMs: number, options: { allowZero?: boolean } = {}) =>
    z.coerce
      .number({ error: 'must be a number of milliseconds' })
      .int({ error: 'must be a whole number of milliseconds' })
      .min(options.allowZero ? 0 : 1, { error: `must be a ${options.allowZero ? 'non-negative' : 'positive'} number of milliseconds` })
      .default(defaultMs),
  /** A whole number from `min` (to `max`): a rate, a count, a size, a percentage; where min is 0, 0 may mean "off". */
  count: (defaultValue: number, min = 0, max = Number.MAX_SAFE_INTEGER) => {
    const range =
      max === Number.MAX_SAFE_INTEGER ? (min === 0 ? 'must not be negative' : `must be at least ${min}`) : `must be from ${min} to ${max}`;
    return z.coerce
      .number({ error: 'must be a whole number' })
      .int({ error: 'must be a whole number' })
      .min(min, { error: range })
      .max(max, { error: range })
      .default(defaultValue);
  },
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  postgresUrl: () => z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }),
  /** host:port, or any gRPC target such as dns:///user:50051. */
  grpcTarget: (defaultTarget: string) =>
    z.string().regex(/^\S+$/, { error: 'must be a gRPC target such as localhost:50051' }).default(defaultTarget),
  flag: (defaultValue: boolean) =>
    z
      .enum(['true', 'false', '1', '0'], { error: 'must be true, false, 1 or 0' })
      .transform((value) => value === 'true' || value === '1')
      .default(defaultValue),
} as const;

export type LogLevel = z.output<ReturnType<typeof envVar.logLevel>>;
