import path from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { freePort, startServiceProcess, unary, type ServiceProcess } from '@platform/testing';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { pin } from './infrastructure';
import { closedLoop, type Call } from './load';

export const CONCURRENCY = 32;
export const SERVER_CPU = 0;
export const CLIENT_CPU = 1;

/** This checkout; another one (built) can be benchmarked against it. */
const THIS_CHECKOUT = path.resolve(__dirname, '../../..');

/** The telemetry settings compared in the observability tax, by name. */
export function telemetryEnvironments(otlp: string, bulk: string): Record<string, NodeJS.ProcessEnv> {
  const tracing = { OTEL_SDK_DISABLED: 'false', OTEL_TRACES_SAMPLER: 'always_on', OTEL_EXPORTER_OTLP_ENDPOINT: otlp };
  const noTracing = { OTEL_SDK_DISABLED: 'true' };
  const logging = { LOG_LEVEL: 'info', ELASTICSEARCH_URL: bulk };
  const noLogging = { LOG_LEVEL: 'warn' };
  return {
    off: { ...noTracing, ...noLogging, GRPC_METRICS_ENABLED: 'false' },
    all: { ...tracing, ...logging, GRPC_METRICS_ENABLED: 'true' },
    // What production would run: everything, with one trace in ten kept (the caller's choice wins when there is one).
    allSampled: {
      ...tracing,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      ...logging,
      GRPC_METRICS_ENABLED: 'true',
    },
    tracingOnly: { ...tracing, ...noLogging, GRPC_METRICS_ENABLED: 'false' },
    metricsOnly: { ...noTracing, ...noLogging, GRPC_METRICS_ENABLED: 'true' },
    loggingOnly: { ...noTracing, ...logging, GRPC_METRICS_ENABLED: 'false' },
  };
}

export interface UserServiceUnderTest {
  process: ServiceProcess;
  client: UserServiceClient;
  /** GetUser of the one user created at start. */
  getUser: Call;
  stop(): Promise<void>;
}

export interface UserServiceOptions {
  env: NodeJS.ProcessEnv;
  /** Run the user service of this (built) checkout instead of this one's. */
  checkout?: string | undefined;
  /** Set: the process writes a V8 CPU profile (node --cpu-prof) here when it stops. */
  profileDir?: string | undefined;
  warmUpMs: number;
}

/** Starts user-service (in-memory storage) pinned to the server core, with one user, warmed up. */
export async function startUserService(options: UserServiceOptions): Promise<UserServiceUnderTest> {
  const checkout = options.checkout ?? THIS_CHECKOUT;
  const main = path.join(checkout, 'services/user/dist/src/main.js');
  const service = await startServiceProcess(
    main,
    { ...options.env, FAULT_INJECTION_ENABLED: 'false', GRPC_PORT: String(await freePort()), METRICS_PORT: String(await freePort()) },
    {
      discardOutput: true,
      // Each checkout's own telemetry preload, as its start script runs it.
      preload: path.join(checkout, 'packages/telemetry/dist/src/register.js'),
      nodeArgs: options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [],
    },
  );
  pin(service.child.pid!, SERVER_CPU);
  const client = new UserServiceClient(`127.0.0.1:${service.port}`, credentials.createInsecure());
  const { id } = await unary(client, client.createUser)({ email: 'bench@example.com', displayName: 'Bench' });
  const getUser: Call = () => unary(client, client.getUser)({ id });
  // Warm-up: let V8 optimise the hot path before anything is measured.
  await closedLoop(getUser, { concurrency: CONCURRENCY, durationMs: options.warmUpMs });
  return {
    process: service,
    client,
    getUser,
    stop: async () => {
      client.close();
      await service.stop();
    },
  };
}
