export { expectStatus, expectViolations, headersReceived, healthStatus, rejectedFields, unary } from './grpc';
export { freshDatabaseUrl, postgresServer, withDatabase, type PostgresServer } from './postgres';
export { startServiceProcess, writeRestartRead, type RestartCheck, type ServiceProcess } from './process';
export { ReflectionProbe } from './reflection';
