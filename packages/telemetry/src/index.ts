export { GRPC_LATENCY_BUCKETS, GrpcClientMetrics, GrpcServerMetrics, grpcCodeName, type ExemplarSource } from './grpc-metrics';
export { createLogger, type Logger, type LoggerOptions } from './logger';
export { createRegistry, MetricsServer, renderMetrics, type MetricsRegistry } from './metrics';
export { registerPoolMetrics, type PoolStats } from './pool-metrics';
export { Telemetry, type TelemetryOptions } from './telemetry';
export { SelfObservation, type PipelineCount } from './self-observation';
export { GrpcServerSpanConventions } from './span-conventions';
export { activeTracing, shutdownTracing, startTracing, Tracing, tracingOptionsFromEnvironment, type TracingOptions } from './tracing';
export { currentTraceId, TRACE_ID_METADATA_KEY, traceExemplar, traceIdInterceptor } from './trace-context';
