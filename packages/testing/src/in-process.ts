import {
  DEFAULT_MAX_CONNECTION_AGE_MS,
  DEFAULT_MAX_CONNECTION_IDLE_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS, type Fault, type RunningService, type ServiceConfig } from '@platform/service-kit';
import { Telemetry } from '@platform/telemetry';

/** A service started inside the test process, with its own telemetry (registry, metrics port). */
export interface InProcessService {
  readonly port: number;
  readonly address: string;
  /** Where fault.v1.FaultService is served, when fault injection is on. */
  readonly adminAddress: string | undefined;
  readonly telemetry: Telemetry;
  /** Shuts the service down, then its telemetry; safe to call twice. */
  stop(): Promise<void>;
}

export async function startInProcess<Config>(
  serviceName: string,
  start: (config: Config, telemetry: Telemetry) => Promise<RunningService>,
  config: Config,
): Promise<InProcessService> {
  const telemetry = await Telemetry.start({ serviceName, metricsPort: 0, metricsHost: '127.0.0.1', logLevel: 'silent' });
  const service = await start(config, telemetry);
  return {
    port: service.port,
    address: `127.0.0.1:${service.port}`,
    adminAddress: service.adminPort === undefined ? undefined : `127.0.0.1:${service.adminPort}`,
    telemetry,
    stop: async () => {
      await service.shutdown();
      await telemetry.shutdown();
    },
  };
}

/** Fault injection for a service under test: these faults from the start, the admin listener on a free loopback port. */
export function testFaultInjection(faults: readonly Fault[] = []): NonNullable<ServiceConfig['faultInjection']> {
  return { faults, adminHost: '127.0.0.1', adminPort: 0 };
}

/** The settings of a service under test: loopback, free ports, silent, in-memory unless a database is given. */
export function testConfig(overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    grpcHost: '127.0.0.1',
    grpcPort: 0,
    metricsHost: '127.0.0.1',
    // Shared, as replicas of a deployment share it: tests page across two replicas.
    pageTokenKey: 'page-token-key-of-the-tests-0123456789',
    metricsPort: 0,
    databaseUrl: undefined,
    logLevel: 'silent',
    shutdownGraceMs: 1000,
    databaseConnectTimeoutMs: 5000,
    elasticsearch: undefined,
    faultInjection: undefined,
    shutdownDrainDelayMs: 0,
    telemetryFlushTimeoutMs: 1000,
    grpcMaxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    grpcMaxReceiveMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    grpcMaxConnectionAgeMs: DEFAULT_MAX_CONNECTION_AGE_MS,
    grpcMaxConnectionAgeGraceMs: undefined,
    grpcMaxConnectionIdleMs: DEFAULT_MAX_CONNECTION_IDLE_MS,
    grpcRequestReceiveTimeoutMs: DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS,
    grpcMetrics: true,
    tls: undefined,
    rateLimit: undefined,
    ...overrides,
  };
}
