// Stand-ins for the observability backends, and the project's Prometheus
// configuration, for tests of other workspaces (the Compose rehearsal).
export { FakeElasticsearch, type BulkDocument } from './fake-elasticsearch';
export { OtlpHttpTraceReceiver, OtlpTraceReceiver, type ReceivedSpan } from './otlp-receiver';
export { localPrometheusConfig, PROMETHEUS_CONFIG } from './project-prometheus';
export { RecordingServer, type CannedResponse, type RecordedRequest } from './recording-server';
