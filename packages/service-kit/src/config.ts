import { z } from 'zod';
import { ConfigError, envVar, parseEnv, type LogLevel } from './env';
import { faultInjectionEnvShape, toFaultInjectionConfig, type FaultInjectionConfig } from './fault-injection/config';
import { rateLimitEnvShape, toRateLimitConfig, type RateLimitConfig } from './rate-limit-config';
import { toWebEndpointConfig, webEndpointEnvShape, type WebEndpointConfig } from './web/config';

/** gRPC's own default, stated so that both directions have the same, visible limit. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * Off unless configured: when grpc-js ages a busy connection out, calls racing
 * the GOAWAY can fail with INTERNAL ("RST_STREAM with code 0"), which callers
 * must not retry. Compose sets 5 minutes, so new replicas still get traffic.
 */
export const DEFAULT_MAX_CONNECTION_AGE_MS = 0;

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
  /** How long a call waits for a pooled PostgreSQL connection before it fails UNAVAILABLE. */
  databaseAcquireTimeoutMs: number;
  /** How long one SQL statement may run, lock waits included, before the server cancels it. */
  databaseStatementTimeoutMs: number;
  /** Set: logs are also shipped to Elasticsearch. */
  elasticsearch: { url: string; apiKey: string | undefined; username: string | undefined; password: string | undefined } | undefined;
  /**
   * Set: these faults are in effect from the start, and fault.v1.FaultService
   * is served on its own listener (never on the gRPC port), at adminHost:adminPort.
   */
  faultInjection: FaultInjectionConfig | undefined;
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
  /** Set: the service also serves browsers, over gRPC-Web and Connect (WEB_PORT). */
  web: WebEndpointConfig | undefined;
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
    DATABASE_ACQUIRE_TIMEOUT_MS: envVar.milliseconds(2_000),
    DATABASE_STATEMENT_TIMEOUT_MS: envVar.milliseconds(5_000),
    ELASTICSEARCH_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
    ELASTICSEARCH_API_KEY: z.string().optional(),
    ELASTICSEARCH_USERNAME: z.string().optional(),
    ELASTICSEARCH_PASSWORD: z.string().optional(),
    ...faultInjectionEnvShape,
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
    ...rateLimitEnvShape,
    ...webEndpointEnvShape,
    PAGE_TOKEN_KEY: z.string().min(32, { error: 'must have at least 32 characters' }).optional(),
  };
}

export function toServiceConfig(parsed: z.output<z.ZodObject<ReturnType<typeof serviceEnvShape>>>): ServiceConfig {
  const problems: string[] = [];
  // Each feature reads its own section, and says what is wrong with it.
  const faultInjection = toFaultInjectionConfig(parsed, parsed.GRPC_PORT, problems);
  const rateLimit = toRateLimitConfig(parsed, problems);
  const web = toWebEndpointConfig(parsed, parsed.GRPC_HOST, problems);
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
    databaseAcquireTimeoutMs: parsed.DATABASE_ACQUIRE_TIMEOUT_MS,
    databaseStatementTimeoutMs: parsed.DATABASE_STATEMENT_TIMEOUT_MS,
    elasticsearch: parsed.ELASTICSEARCH_URL
      ? {
          url: parsed.ELASTICSEARCH_URL,
          apiKey: parsed.ELASTICSEARCH_API_KEY,
          username: parsed.ELASTICSEARCH_USERNAME,
          password: parsed.ELASTICSEARCH_PASSWORD,
        }
      : undefined,
    faultInjection,
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
    rateLimit,
    web,
    pageTokenKey: parsed.PAGE_TOKEN_KEY,
  };
}
