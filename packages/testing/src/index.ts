export { expectStatus, expectViolations, headersReceived, healthStatus, rejectedFields, unary } from './grpc';
export { freshDatabaseUrl, postgresServer, withDatabase, type PostgresServer } from './postgres';
export { messageOf, startServiceProcess, writeRestartRead, type RestartCheck, type ServiceProcess } from './process';
export { ReflectionProbe } from './reflection';
export { startInProcess, testConfig, type InProcessService } from './in-process';
export { parseSamples, sampleValue, scrapeMetrics, type Sample, type Scrape } from './metrics';
export { freePort } from './net';
export { startPrometheus, type PrometheusServer, type VectorSample } from './prometheus';
