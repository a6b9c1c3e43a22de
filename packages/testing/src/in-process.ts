import {
  Closer,
  DEFAULT_MAX_MESSAGE_BYTES,
  dropDatabase,
  parseEnv,
  serviceEnvShape,
  toServiceConfig,
  type Fault,
  type RunningService,
  type ServiceConfig,
} from '@platform/service-kit';
import { Telemetry } from '@platform/telemetry';
import { freshDatabaseUrl } from './postgres';

/** A service started inside the test process, with its own telemetry (registry, metrics port). */
export interface InProcessService {
  readonly port: number;
  readonly address: string;
  /** Where fault.v1.FaultService is served, when fault injection is on. */
  readonly adminAddress: string | undefined;
  /** The web endpoint (gRPC-Web, Connect), when it is on: http://127.0.0.1:port. */
  readonly webUrl: string | undefined;
  readonly telemetry: Telemetry;
  /** Closes the service (its server drains first), then its telemetry; safe to call twice. */
  stop(): Promise<void>;
}

/** A service's composition root, as each service exports it. */
export type StartService<Config> = (config: Config, telemetry: Telemetry, closer: Closer) => Promise<RunningService>;

export async function startInProcess<Config>(serviceName: string, start: StartService<Config>, config: Config): Promise<InProcessService> {
  const closer = new Closer();
  const telemetry = closer.add(
    'telemetry',
    await Telemetry.start({ serviceName, metricsPort: 0, metricsHost: '127.0.0.1', logLevel: 'silent' }),
    (opened) => opened.close({ flushTimeoutMs: Number(TEST_ENVIRONMENT.TELEMETRY_FLUSH_TIMEOUT_MS) }),
  );
  // A service that fails to start still closes what it had opened (a pool, a Redis connection).
  const service = await start(config, telemetry, closer).catch(async (error: unknown) => {
    await closer.close().catch(() => undefined);
    throw error;
  });
  return {
    port: service.port,
    address: `127.0.0.1:${service.port}`,
    adminAddress: service.adminPort === undefined ? undefined : `127.0.0.1:${service.adminPort}`,
    webUrl: service.webPort === undefined ? undefined : `http://127.0.0.1:${service.webPort}`,
    telemetry,
    stop: () => closer.close(),
  };
}

/** The web endpoint for a service under test: a free loopback port, these origins allowed. */
export function testWebEndpoint(allowedOrigins: readonly string[] = []): NonNullable<ServiceConfig['web']> {
  return { host: '127.0.0.1', port: 0, allowedOrigins };
}

/** Fault injection for a service under test: these faults from the start, the admin listener on a free loopback port. */
export function testFaultInjection(faults: readonly Fault[] = []): NonNullable<ServiceConfig['faultInjection']> {
  return { faults, adminHost: '127.0.0.1', adminPort: 0 };
}

/**
 * What a service under test is set to beyond the service defaults: loopback,
 * free ports, silent, quick to stop, in-memory unless a database is given.
 */
const TEST_ENVIRONMENT = {
  GRPC_HOST: '127.0.0.1',
  GRPC_PORT: '0',
  METRICS_PORT: '0',
  LOG_LEVEL: 'silent',
  SHUTDOWN_GRACE_MS: '1000',
  DATABASE_CONNECT_TIMEOUT_MS: '5000',
  TELEMETRY_FLUSH_TIMEOUT_MS: '1000',
  // Shared, as replicas of a deployment share it: tests page across two replicas.
  PAGE_TOKEN_KEY: 'page-token-key-of-the-tests-0123456789',
};

/**
 * The settings of a service under test: the service defaults, read through
 * the same schema as a real environment (so that they cannot drift from it),
 * with TEST_ENVIRONMENT and `overrides` applied; messages of up to the gRPC
 * default both ways, so that tests can send what a service would refuse.
 */
export function testConfig(overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  const shape = serviceEnvShape({ grpcPort: 0, metricsPort: 0, maxReceiveMessageBytes: DEFAULT_MAX_MESSAGE_BYTES });
  return { ...toServiceConfig(parseEnv(shape, TEST_ENVIRONMENT)), ...overrides };
}

/** What Order adds to the settings every service has. */
interface CallsUser {
  userServiceAddr: string;
  userServiceTimeoutMs: number;
}

/** User and Order in one test process, each on a database of its own. */
export interface UserAndOrder {
  readonly user: InProcessService;
  readonly order: InProcessService;
  /** The PostgreSQL URLs of their databases. */
  readonly databases: { readonly users: string; readonly orders: string };
  /** Stops Order, then User, then drops both databases. */
  stop(): Promise<void>;
}

/**
 * The whole request path of the platform in this process: User and Order on
 * fresh PostgreSQL databases, Order calling User. The services come in as
 * arguments, since this package cannot depend on them.
 */
export async function startUserAndOrder(services: {
  user: { name: string; start: StartService<ServiceConfig> };
  order: { name: string; start: StartService<ServiceConfig & CallsUser> };
}): Promise<UserAndOrder> {
  const databases = { users: await freshDatabaseUrl('users'), orders: await freshDatabaseUrl('orders') };
  const user = await startInProcess(services.user.name, services.user.start, testConfig({ databaseUrl: databases.users }));
  const order = await startInProcess(services.order.name, services.order.start, {
    ...testConfig({ databaseUrl: databases.orders }),
    userServiceAddr: user.address,
    userServiceTimeoutMs: 5000,
  });
  return {
    user,
    order,
    databases,
    async stop() {
      await order.stop();
      await user.stop();
      for (const url of Object.values(databases)) await dropDatabase(url);
    },
  };
}
