import path from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { freePort, startServiceProcess, unary, type ServiceProcess } from '@platform/testing';
import { GetUserRequest, User, UserServiceClient } from '@platform/contracts/user/v1/user';
import { H2LOAD_MISSING, h2load, h2loadAvailable, type H2loadTarget } from './h2load';
import { pin } from './infrastructure';
import { closedLoop, fixedRate, type Call, type LoadResult } from './load';
import type { Runtime } from './runtimes';

/** Calls in flight from the Node.js client. */
export const CONCURRENCY = 32;
/** h2load's shape of the load: 4 connections of 16 streams, as gRPC clients multiplex. */
export const H2LOAD_CLIENTS = 4;
export const H2LOAD_STREAMS = 16;
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
    // Tracing on, no trace kept: what the instrumentation costs a call that is never exported.
    tracingUnsampled: { ...tracing, OTEL_TRACES_SAMPLER: 'always_off', ...noLogging, GRPC_METRICS_ENABLED: 'false' },
    metricsOnly: { ...noTracing, ...noLogging, GRPC_METRICS_ENABLED: 'true' },
    loggingOnly: { ...noTracing, ...logging, GRPC_METRICS_ENABLED: 'false' },
  };
}

export interface UserServiceUnderTest {
  process: ServiceProcess;
  client: UserServiceClient;
  /** GetUser of the one user created at start. */
  getUser: Call;
  /** The same call as h2load makes it. */
  getUserOnWire: H2loadTarget;
  stop(): Promise<void>;
}

export interface UserServiceOptions {
  env: NodeJS.ProcessEnv;
  /** Run the user service of this (built) checkout instead of this one's. */
  checkout?: string | undefined;
  /** Set: the process writes a V8 CPU profile (node --cpu-prof) here when it stops. */
  profileDir?: string | undefined;
  /** The Node.js it runs on; this process's by default. */
  runtime?: Runtime | undefined;
  /** More Node.js flags for the service, e.g. a --require of its own. */
  nodeArgs?: string[];
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
      nodeArgs: [...(options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : []), ...(options.nodeArgs ?? [])],
      node: options.runtime?.binary,
    },
  );
  pin(service.child.pid!, SERVER_CPU);
  const client = new UserServiceClient(`127.0.0.1:${service.port}`, credentials.createInsecure());
  const { id } = await unary(client, client.createUser)({ email: 'bench@example.com', displayName: 'Bench' });
  const getUser: Call = () => unary(client, client.getUser)({ id });
  const getUserOnWire = await getUserTarget(client, service.port, id);
  // Warm-up: let V8 optimise the hot path before anything is measured.
  await closedLoop(getUser, { concurrency: CONCURRENCY, durationMs: options.warmUpMs });
  return {
    process: service,
    client,
    getUser,
    getUserOnWire,
    stop: async () => {
      client.close();
      await service.stop();
    },
  };
}

/** GetUser of `id` as h2load sends it, with the answer a success carries (asked of the server once). */
export async function getUserTarget(client: UserServiceClient, port: number, id: string): Promise<H2loadTarget> {
  const user = await unary(client, client.getUser)({ id });
  return {
    port,
    path: '/user.v1.UserService/GetUser',
    request: GetUserRequest.encode({ id }).finish(),
    response: User.encode(user).finish(),
  };
}

/** The load generators every throughput table is made with. */
export type Generator = LoadResult['generator'];

/** `node,h2load` as the command lines take it; an unknown name, or h2load where it is not installed, stops the run. */
export function generatorsFrom(list: string): Generator[] {
  const generators = list.split(',').map((name) => name.trim());
  for (const generator of generators)
    if (generator !== 'node' && generator !== 'h2load') throw new Error(`unknown load generator ${generator}: node or h2load`);
  if (generators.includes('h2load') && !h2loadAvailable()) throw new Error(H2LOAD_MISSING);
  return generators as Generator[];
}

/** Most the server does: each generator in its closed-loop shape. */
export function maxLoad(
  generator: Generator,
  target: { call: Call; onWire: H2loadTarget },
  options: { durationMs: number; serverPid?: number | undefined },
): Promise<LoadResult> {
  return generator === 'node'
    ? closedLoop(target.call, { concurrency: CONCURRENCY, ...options })
    : h2load(target.onWire, { clients: H2LOAD_CLIENTS, streams: H2LOAD_STREAMS, cpu: CLIENT_CPU, ...options });
}

/**
 * A fixed rate, for latency below saturation. The Node.js generator counts
 * latency from each call's scheduled start (no coordinated omission); h2load
 * from when it sent the request.
 */
export function atRate(
  generator: Generator,
  target: { call: Call; onWire: H2loadTarget },
  options: { rate: number; durationMs: number },
): Promise<LoadResult> {
  return generator === 'node'
    ? fixedRate(target.call, options)
    : h2load(target.onWire, { clients: H2LOAD_CLIENTS, streams: H2LOAD_STREAMS, cpu: CLIENT_CPU, ...options });
}
