export {
  GRPC_LATENCY_BUCKETS,
  GrpcClientMetrics,
  GrpcServerMetrics,
  grpcCodeName,
  grpcMethodLabels,
  grpcTypeOf,
  type GrpcType,
  type ExemplarSource,
  type MethodShape,
  type ServerCallRecorder,
  type ServerProtocol,
} from './grpc-metrics';
export { ServerCallObserver, serverTelemetryInterceptor, type ServerTelemetryOptions } from './server-interceptor';
export { LogShipper, type ElasticsearchShippingOptions, type ShippingCounts } from './log-shipping';
export { createLogger, datasetOf, redactEmails, type Logger, type LoggerOptions } from './logger';
export { STDOUT_MAX_BACKLOG_BYTES, StdoutLines } from './stdout';
export { serviceIdentity, type ServiceIdentity } from './service-identity';
export { createRegistry, MetricsServer, renderMetrics, type MetricsRegistry } from './metrics';
export { registerPoolMetrics, type PoolStats } from './pool-metrics';
export { METRICS_SERVED_MESSAGE, Telemetry, type TelemetryOptions } from './telemetry';
export { SelfObservation, type PipelineCount } from './self-observation';
export { isServerFaultCode, SERVER_FAULT_CODES, serverFaultCodeRegex } from './server-faults';
export { GrpcClientSpanNames } from './span-conventions';
export { activeTracing, closeTracing, startTracing, Tracing, tracingOptionsFromEnvironment, type TracingOptions } from './tracing';
export { currentTraceId, TRACE_ID_METADATA_KEY, traceExemplar } from './trace-context';
export { HEADERS_GETTER, METADATA_GETTER, startServerSpan, type ServerSpan } from './server-span';
