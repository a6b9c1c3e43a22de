import { z } from 'zod';
import { faultSpec, type Fault } from './fault-injection/injector';
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

/** gRPC's own default, stated so that both directions have the same, visible limit. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * Off unless configured: when grpc-js ages a busy connection out, calls racing
 * the GOAWAY can fail with INTERNAL ("RST_STREAM with code 0"), which callers
 * must not retry. Compose sets 5 minutes, so new replicas still get traffic.
 */
export const DEFAULT_MAX_CONNECTION_AGE_MS = 0;

/**
 * Where the fault admin listener is by default, from the gRPC port: user
 * 50051 -> 50071, order 50052 -> 50072 (npm run fault's default targets).
 */
export const FAULT_ADMIN_PORT_OFFSET = 20;

/**
 * A connection without calls is closed after this long: clients reconnect
 * on their next call (one round trip), and a connection a client keeps open
 * after the server's GOAWAY for a protocol error is gone within it.
 */
export const DEFAULT_MAX_CONNECTION_IDLE_MS = 30_000;
/** How long a unary or server-streaming call waits for its request after its headers. */
export const DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS = 10_000;

/** PEM files for mutual TLS: the CA that signs every peer, and this process's own certificate and key. */
export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Per-caller rate limiting; see RateLimiter. */
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

/** The settings every service has. */
export interface ServiceConfig {
  grpcHost: string;
  grpcPort: number;
  /** Where /metrics is served: METRICS_HOST, by default the gRPC host. */
  metricsHost: string;
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
  /**
   * Set: these faults are in effect from the start, and fault.v1.FaultService
   * is served on its own listener (never on the gRPC port), at adminHost:adminPort.
   */
  faultInjection: { faults: readonly Fault[]; adminHost: string; adminPort: number } | undefined;
  /** After SIGTERM, how long health reports NOT_SERVING while calls are still accepted, before draining starts. */
  shutdownDrainDelayMs: number;
  /**
   * After the calls have drained, how long buffered spans and log lines may
   * take to leave; what has not left by then is dropped. Drain delay + grace
   * + this is the longest a stop takes, whatever the telemetry backends do.
   */
  telemetryFlushTimeoutMs: number;
  /** The largest message the gRPC server sends (a listing's page is cut to fit). */
  grpcMaxMessageBytes: number;
  /**
   * The largest request message it receives: sized to the service's largest
   * valid request, so that an oversized one is refused before it is decoded
   * (decoding and validating megabytes of text is what costs).
   */
  grpcMaxReceiveMessageBytes: number;
  /** Connections are asked to go away (GOAWAY) after about this long, so that clients spread over new replicas. */
  /** 0: connections are never aged out. */
  grpcMaxConnectionAgeMs: number;
  /** Record gRPC server/client metrics; off only to measure their cost (bench/). */
  grpcMetrics: boolean;
  /** How long calls may continue on a connection asked to go away; unset: until they end. */
  grpcMaxConnectionAgeGraceMs: number | undefined;
  /** A connection without calls for this long is closed. */
  grpcMaxConnectionIdleMs: number;
  /** How long a call that takes one request message waits for it after the headers. */
  grpcRequestReceiveTimeoutMs: number;
  /** Set: the server speaks TLS and requires client certificates signed by the CA; clients present theirs. */
  tls: TlsFiles | undefined;
  /** Set: calls are limited per caller. */
  rateLimit: RateLimitConfig | undefined;
  /** Signs page tokens; every replica of a service needs the same. Unset: a key of this process. */
  pageTokenKey: string | undefined;
}

/** TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE: servers and clients (the CLIs too) read the same three. */
export const tlsEnvShape = {
  TLS_CA_FILE: z.string().optional(),
  TLS_CERT_FILE: z.string().optional(),
  TLS_KEY_FILE: z.string().optional(),
};

/** All three TLS files or none: a partial set would silently fall back to plaintext. */
export function toTlsFiles(parsed: z.output<z.ZodObject<typeof tlsEnvShape>>): TlsFiles | undefined {
  const { TLS_CA_FILE: caFile, TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile } = parsed;
  if (caFile === undefined && certFile === undefined && keyFile === undefined) return undefined;
  if (caFile === undefined || certFile === undefined || keyFile === undefined) {
    const missing = (['TLS_CA_FILE', 'TLS_CERT_FILE', 'TLS_KEY_FILE'] as const).filter((name) => parsed[name] === undefined);
    throw ConfigError.of(missing.map((name) => `${name}: required when any of TLS_CA_FILE, TLS_CERT_FILE, TLS_KEY_FILE is set`));
  }
  return { caFile, certFile, keyFile };
}

/** The TLS files named in the environment, for processes without a ServiceConfig (CLIs, the traffic generator). */
export function tlsFromEnv(env: NodeJS.ProcessEnv = process.env): TlsFiles | undefined {
  return toTlsFiles(parseEnv(tlsEnvShape, env));
}

/** The environment variables behind ServiceConfig; spread into a service's own schema. */
export function serviceEnvShape(defaults: { grpcPort: number; metricsPort: number; maxReceiveMessageBytes: number }) {
  return {
    GRPC_HOST: z.string().min(1).default('0.0.0.0'),
    GRPC_PORT: envVar.port(defaults.grpcPort),
    // Unset: the gRPC host, so that a service bound to one address exposes nothing on the others.
    METRICS_HOST: z.string().min(1).optional(),
    METRICS_PORT: envVar.port(defaults.metricsPort),
    DATABASE_URL: envVar.postgresUrl().optional(),
    LOG_LEVEL: envVar.logLevel(),
    SHUTDOWN_GRACE_MS: envVar.milliseconds(10_000),
    DATABASE_CONNECT_TIMEOUT_MS: envVar.milliseconds(30_000),
    ELASTICSEARCH_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
    ELASTICSEARCH_API_KEY: z.string().optional(),
    ELASTICSEARCH_USERNAME: z.string().optional(),
    ELASTICSEARCH_PASSWORD: z.string().optional(),
    // Off unless asked for: anyone who can reach the admin listener can slow or fail every call.
    FAULT_INJECTION_ENABLED: envVar.flag(false),
    FAULTS: faultSpec.optional(),
    // Loopback unless told otherwise, for the same reason; Compose opens it to the stack's network.
    FAULT_ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
    // Unset: the gRPC port + FAULT_ADMIN_PORT_OFFSET (a free port when that is 0).
    FAULT_ADMIN_PORT: envVar.port(0).unwrap().optional(),
    // 0 by default so that tests and local runs stop at once; Compose sets it.
    SHUTDOWN_DRAIN_DELAY_MS: envVar.milliseconds(0, { allowZero: true }),
    TELEMETRY_FLUSH_TIMEOUT_MS: envVar.milliseconds(2_000),
    GRPC_MAX_MESSAGE_BYTES: envVar.count(DEFAULT_MAX_MESSAGE_BYTES, 1),
    GRPC_MAX_RECEIVE_MESSAGE_BYTES: envVar.count(defaults.maxReceiveMessageBytes, 1),
    GRPC_MAX_CONNECTION_AGE_MS: envVar.milliseconds(DEFAULT_MAX_CONNECTION_AGE_MS, { allowZero: true }),
    GRPC_METRICS_ENABLED: envVar.flag(true),
    // Without a default: unset means calls on an old connection may run until they end.
    GRPC_MAX_CONNECTION_AGE_GRACE_MS: envVar.milliseconds(0, { allowZero: true }).unwrap().optional(),
    GRPC_MAX_CONNECTION_IDLE_MS: envVar.milliseconds(DEFAULT_MAX_CONNECTION_IDLE_MS),
    GRPC_REQUEST_RECEIVE_TIMEOUT_MS: envVar.milliseconds(DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS),
    ...tlsEnvShape,
    // 0: no rate limiting.
    RATE_LIMIT_PER_SECOND: envVar.count(0),
    RATE_LIMIT_BURST: envVar.count(0),
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
    PAGE_TOKEN_KEY: z.string().min(32, { error: 'must have at least 32 characters' }).optional(),
  };
}

export function toServiceConfig(parsed: z.output<z.ZodObject<ReturnType<typeof serviceEnvShape>>>): ServiceConfig {
  const problems: string[] = [];
  if (!parsed.FAULT_INJECTION_ENABLED) {
    for (const name of ['FAULTS', 'FAULT_ADMIN_PORT'] as const) {
      if (parsed[name] !== undefined) problems.push(`${name}: set while fault injection is off; also set FAULT_INJECTION_ENABLED=true`);
    }
  }
  // Settings that would do nothing are mistakes worth stopping for, as with FAULTS.
  if (parsed.RATE_LIMIT_PER_SECOND === 0) {
    if (parsed.RATE_LIMIT_BURST > 0) problems.push('RATE_LIMIT_BURST: set while rate limiting is off; also set RATE_LIMIT_PER_SECOND');
    if (parsed.REDIS_URL !== undefined) problems.push('REDIS_URL: set while rate limiting is off; also set RATE_LIMIT_PER_SECOND');
  }
  const adminPort = parsed.FAULT_ADMIN_PORT ?? (parsed.GRPC_PORT === 0 ? 0 : parsed.GRPC_PORT + FAULT_ADMIN_PORT_OFFSET);
  if (parsed.FAULT_INJECTION_ENABLED) {
    if (adminPort > 65535) problems.push(`FAULT_ADMIN_PORT: GRPC_PORT + ${FAULT_ADMIN_PORT_OFFSET} is beyond 65535; set FAULT_ADMIN_PORT`);
    else if (adminPort !== 0 && adminPort === parsed.GRPC_PORT)
      problems.push('FAULT_ADMIN_PORT: must differ from GRPC_PORT; the admin listener is a port of its own');
  }
  if (problems.length > 0) throw ConfigError.of(problems);
  return {
    grpcHost: parsed.GRPC_HOST,
    grpcPort: parsed.GRPC_PORT,
    metricsHost: parsed.METRICS_HOST ?? parsed.GRPC_HOST,
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
    faultInjection: parsed.FAULT_INJECTION_ENABLED
      ? {
          faults: parsed.FAULTS ?? [],
          adminHost: parsed.FAULT_ADMIN_HOST,
          adminPort,
        }
      : undefined,
    shutdownDrainDelayMs: parsed.SHUTDOWN_DRAIN_DELAY_MS,
    telemetryFlushTimeoutMs: parsed.TELEMETRY_FLUSH_TIMEOUT_MS,
    grpcMaxMessageBytes: parsed.GRPC_MAX_MESSAGE_BYTES,
    grpcMaxReceiveMessageBytes: parsed.GRPC_MAX_RECEIVE_MESSAGE_BYTES,
    grpcMaxConnectionAgeMs: parsed.GRPC_MAX_CONNECTION_AGE_MS,
    grpcMetrics: parsed.GRPC_METRICS_ENABLED,
    grpcMaxConnectionAgeGraceMs: parsed.GRPC_MAX_CONNECTION_AGE_GRACE_MS,
    grpcMaxConnectionIdleMs: parsed.GRPC_MAX_CONNECTION_IDLE_MS,
    grpcRequestReceiveTimeoutMs: parsed.GRPC_REQUEST_RECEIVE_TIMEOUT_MS,
    tls: toTlsFiles(parsed),
    rateLimit:
      parsed.RATE_LIMIT_PER_SECOND > 0
        ? { perSecond: parsed.RATE_LIMIT_PER_SECOND, burst: parsed.RATE_LIMIT_BURST, redisUrl: parsed.REDIS_URL }
        : undefined,
    pageTokenKey: parsed.PAGE_TOKEN_KEY,
  };
}
