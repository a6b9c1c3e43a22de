export { expectStatus, expectViolations, headersReceived, rejectedFields, unary } from './grpc';
export { freshDatabaseUrl, postgresServer, withDatabase, type PostgresServer } from './postgres';
export { startPrivatePostgres, type PrivatePostgres } from './private-postgres';
export { serviceMain } from './service-main';
export {
  messageOf,
  runToExit,
  startServiceProcess,
  writeRestartRead,
  type ProgramRun,
  type RestartCheck,
  type ServiceProcess,
} from './process';
export { ReflectionProbe } from './reflection';
export {
  startInProcess,
  startUserAndOrder,
  testConfig,
  testFaultInjection,
  testWebEndpoint,
  type InProcessService,
  type StartService,
  type UserAndOrder,
} from './in-process';
export { parseSamples, sampleValue, scrapeMetrics, type Sample, type Scrape } from './metrics';
export { blackHole, freePort } from './net';
export { procStat } from './proc';
export { startPrometheus, type PrometheusServer, type VectorSample } from './prometheus';
export { generateCertificates, tlsEnv, type CertificateName, type Certificates } from './tls';
export { RawClient, type RawMethod, type RawOutcome } from './raw';
export { RawHttp2Connection } from './raw-http2';
export { grpcFrame, http2GrpcCall, type Http2Call } from './http2-call';
export { fuzzTargets, RequestFuzzer, type FuzzCase, type FuzzKind, type FuzzTarget, type ProtoMetadataLike } from './fuzz';
/** The grpc.health.v1 status of a server (service-kit's client, as the health probe uses it). */
export { checkHealth as healthStatus } from '@platform/service-kit';
export { eventually, type EventuallyOptions } from './eventually';
export { expectWebFailure, WEB_PROTOCOLS, webClient, webTransport, type WebProtocol } from './web';
export { serviceError, testCallContext } from './call-context';
