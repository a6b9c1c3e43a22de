export { unary, type UnaryMethod } from './client';
export { ConfigError, envVar, parseEnv, serviceEnvShape, toServiceConfig, type LogLevel, type ServiceConfig } from './config';
export { AppError, Code, fieldViolationsOf, isServerFault, readFieldViolations, toGrpcStatus, toRpcStatus, type FieldViolation } from './errors';
export { FaultInjector, faultSpec, formatFault, formatFaults, type Fault, type FaultInjectorOptions } from './faults';
export { runService, runUntilSignalled, type Service, type ServiceMain } from './lifecycle';
export { Telemetry, createLogger, type Logger } from '@platform/telemetry';
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  encodePageToken,
  pageSizeField,
  pageTokenField,
  resumePosition,
  type Page,
  type PageCursor,
} from './pagination';
export { dropDatabase, ensureDatabase, openConfiguredPostgres, openPostgres, pgCode, watchReachability, type PostgresOptions } from './postgres';
export { reflectionPackageDefinition, type ProtoFileMetadata } from './reflection';
export type { CallContext, MethodImplementation, ServiceImplementation } from './rpc';
export { GrpcServer, type GrpcServerOptions } from './server';
export { field, parseRequest, protoFieldPath } from './validation';
export { serve, type RunningService, type ServeOptions } from './service';
export { subscription, type SubscriptionOptions } from './subscription';
