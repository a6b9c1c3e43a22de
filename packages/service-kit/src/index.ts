export { createClient, type ClientChannelOptions, type GeneratedClientClass } from './client/channel';
export { CircuitBreakerGuard, isDependencyUnwell, type CircuitBreakerSettings, type GuardOptions } from './client/circuit-breaker';
export { Dependency, type DependencyOptions } from './client/dependency';
export { unary, type UnaryMethod } from './client/unary';
export { millisecondsOf, parseDuration, protoDurationOf } from './duration';
export { ConfigError, envVar, parseEnv, type LogLevel } from './env';
export { FAULT_ADMIN_PORT_OFFSET, type FaultInjectionConfig } from './fault-injection/config';
export { type RateLimitConfig } from './rate-limit-config';
export {
  DEFAULT_MAX_CONNECTION_AGE_MS,
  DEFAULT_MAX_CONNECTION_IDLE_MS,
  DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  serviceEnvShape,
  tlsEnvShape,
  tlsFromEnv,
  toServiceConfig,
  toTlsFiles,
  type ServiceConfig,
  type TlsFiles,
} from './config';
export {
  AppError,
  Code,
  fieldViolationsOf,
  isServerFault,
  readFieldViolations,
  readRetryDelayMs,
  toGrpcStatus,
  toRpcStatus,
  type FieldViolation,
} from './errors';
export { FaultInjection, type FaultInjectionOptions } from './fault-injection/feature';
export { FaultInjector, faultSpec, formatFault, formatFaults, type Fault, type FaultInjectorOptions } from './fault-injection/injector';
export { serverFeatures } from './features';
export type { FeatureListeners, ServerFeature } from './server-feature';
export { Closer } from './closer';
export { isUsageError, runCommand, UsageError, type CommandOptions } from './usage-error';
export { runService, runUntilSignalled, type ServiceMain } from './run-service';
export { onStopSignals } from './stop-signals';
export { Telemetry, createLogger, type Logger } from '@platform/telemetry';
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  PageTokens,
  fitPage,
  keysetPage,
  pageSizeField,
  pageTokenField,
  type Page,
  type PageCursor,
} from './pagination';
export {
  dropDatabase,
  ensureDatabase,
  inTransaction,
  openConfiguredPostgres,
  openPostgres,
  pgCode,
  watchReachability,
  type PostgresOptions,
} from './postgres';
export { isDependencyUnavailable } from './unavailable';
export { reflectionPackageDefinition, type ProtoFileMetadata } from './reflection';
export type { CallContext, MethodImplementation, ServiceImplementation } from './rpc';
export { GrpcServer, LISTENING_MESSAGE, type GrpcServerOptions, type WebOptions } from './grpc-server';
export { field, parseRequest, protoFieldPath } from './validation';
export { grpcServerOptions, serve, type RunningService, type ServeOptions } from './serve';
export { CLIENT_ID_METADATA_KEY, RateLimiter, type RateLimiterOptions } from './rate-limit';
export { channelCredentials, serverCredentials } from './tls';
export { subscription, type SubscriptionOptions } from './subscription';
export { checkHealth } from './health-client';
export { WEB_LISTENING_MESSAGE } from './web/endpoint';
export type { WebEndpointConfig } from './web/config';
export type { WebCallAdmission } from './web/bridge';
