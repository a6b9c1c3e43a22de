import { z } from 'zod';
import { faultSpec, type Fault } from './faults';

/** Start-up configuration is invalid; the message lists every offending variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses environment variables once, at start-up, against a schema. Empty
 * values count as unset so that `FOO=` in a Compose file means "use the default".
 */
export function parseEnv<Shape extends z.ZodRawShape>(
  shape: Shape,
  env: NodeJS.ProcessEnv = process.env,
): z.output<z.ZodObject<Shape>> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = z.object(shape).safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
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
  milliseconds: (defaultMs: number) =>
    z.coerce
      .number({ error: 'must be a number of milliseconds' })
      .int({ error: 'must be a whole number of milliseconds' })
      .positive({ error: 'must be a positive number of milliseconds' })
      .default(defaultMs),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  postgresUrl: () =>
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }),
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

/** The settings every service has. */
export interface ServiceConfig {
  grpcHost: string;
  grpcPort: number;
  /** Where /metrics is served. */
  metricsPort: number;
  /** Unset: in-memory storage, which keeps nothing across restarts. */
  databaseUrl: string | undefined;
  logLevel: LogLevel;
  /** How long in-flight calls may finish after SIGTERM. */
  shutdownGraceMs: number;
  /** How long start-up waits for PostgreSQL to become reachable. */
  databaseConnectTimeoutMs: number;
  /** Set: logs are also shipped to Elasticsearch. */
  elasticsearch: { url: string; apiKey: string | undefined; username: string | undefined; password: string | undefined } | undefined;
  /** Set: fault.v1.FaultService is served and these faults are in effect from the start. */
  faultInjection: { faults: readonly Fault[] } | undefined;
}

/** The environment variables behind ServiceConfig; spread into a service's own schema. */
export function serviceEnvShape(defaults: { grpcPort: number; metricsPort: number }) {
  return {
    GRPC_HOST: z.string().min(1).default('0.0.0.0'),
    GRPC_PORT: envVar.port(defaults.grpcPort),
    METRICS_PORT: envVar.port(defaults.metricsPort),
    DATABASE_URL: envVar.postgresUrl().optional(),
    LOG_LEVEL: envVar.logLevel(),
    SHUTDOWN_GRACE_MS: envVar.milliseconds(10_000),
    DATABASE_CONNECT_TIMEOUT_MS: envVar.milliseconds(30_000),
    ELASTICSEARCH_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
    ELASTICSEARCH_API_KEY: z.string().optional(),
    ELASTICSEARCH_USERNAME: z.string().optional(),
    ELASTICSEARCH_PASSWORD: z.string().optional(),
    // Off unless asked for: anyone who can reach the port could slow or fail every call.
    FAULT_INJECTION_ENABLED: envVar.flag(false),
    FAULTS: faultSpec.optional(),
  };
}

export function toServiceConfig(
  parsed: z.output<z.ZodObject<ReturnType<typeof serviceEnvShape>>>,
): ServiceConfig {
  if (parsed.FAULTS !== undefined && !parsed.FAULT_INJECTION_ENABLED) {
    throw new ConfigError('invalid configuration:\n  FAULTS: set while fault injection is off; also set FAULT_INJECTION_ENABLED=true');
  }
  return {
    grpcHost: parsed.GRPC_HOST,
    grpcPort: parsed.GRPC_PORT,
    metricsPort: parsed.METRICS_PORT,
    databaseUrl: parsed.DATABASE_URL,
    logLevel: parsed.LOG_LEVEL,
    shutdownGraceMs: parsed.SHUTDOWN_GRACE_MS,
    databaseConnectTimeoutMs: parsed.DATABASE_CONNECT_TIMEOUT_MS,
    elasticsearch: parsed.ELASTICSEARCH_URL
      ? {
          url: parsed.ELASTICSEARCH_URL,
          apiKey: parsed.ELASTICSEARCH_API_KEY,
          username: parsed.ELASTICSEARCH_USERNAME,
          password: parsed.ELASTICSEARCH_PASSWORD,
        }
      : undefined,
    faultInjection: parsed.FAULT_INJECTION_ENABLED ? { faults: parsed.FAULTS ?? [] } : undefined,
  };
}
