import {
  GrpcServer,
  grpcServerOptions,
  openConfiguredPostgres,
  PageTokens,
  serve,
  type Closer,
  type RunningService,
  type ServiceImplementation,
  type Telemetry,
} from '@platform/service-kit';
import type { MetricsRegistry } from '@platform/telemetry';
import { protoMetadata, UserServiceService } from '@platform/contracts/user/v1/user';
import { UserService } from '@platform/contracts/user/v1/user_pb';
import type { UserServiceConfig } from '../config';
import { InMemoryUserRepository, PostgresUserRepository, USER_MIGRATIONS_DIR } from '../repository';
import { userServiceHandlers } from './handlers';
import { UserMetrics } from './metrics';

export const SERVICE_NAME = 'user-service';

/** Assembles storage, handlers and the gRPC server from configuration, registering each close with `closer`, and starts serving. */
export async function startUserService(config: UserServiceConfig, telemetry: Telemetry, closer: Closer): Promise<RunningService> {
  const { logger, registry } = telemetry;
  const pool = await openConfiguredPostgres(config, { serviceName: SERVICE_NAME, migrationsDir: USER_MIGRATIONS_DIR, logger, registry });
  if (pool) closer.add('PostgreSQL pool', pool, (opened) => opened.end());
  const users = pool ? new PostgresUserRepository(pool) : new InMemoryUserRepository();

  const server = new GrpcServer({ ...grpcServerOptions(config, telemetry, closer), protoFiles: [protoMetadata] });
  const pageTokens = PageTokens.fromConfig(config.pageTokenKey, logger);
  server.addService(
    UserServiceService,
    userServiceHandlers({ users, metrics: new UserMetrics(registry), pageTokens, maxMessageBytes: config.grpcMaxMessageBytes }),
    UserService,
  );
  return serve({ server, logger, closer, ...(pool && { pool }) });
}

/**
 * The handlers over in-memory storage, for a host other than the service's own
 * gRPC server: the benchmark serves them over JSON to compare the protocols.
 */
export function inMemoryUserHandlers(options: {
  registry: MetricsRegistry;
  pageTokens: PageTokens;
  maxMessageBytes: number;
}): ServiceImplementation<typeof UserServiceService> {
  const { registry, ...rest } = options;
  return userServiceHandlers({ users: new InMemoryUserRepository(), metrics: new UserMetrics(registry), ...rest });
}
