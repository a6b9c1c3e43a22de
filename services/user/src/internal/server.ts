import {
  GrpcServer,
  grpcServerOptions,
  openConfiguredPostgres,
  PageTokens,
  serve,
  type RunningService,
  type Telemetry,
} from '@platform/service-kit';
import { protoMetadata, UserServiceService } from '../api/user/v1/user';
import type { UserServiceConfig } from '../config';
import { InMemoryUserRepository, PostgresUserRepository, USER_MIGRATIONS_DIR } from '../repository';
import { userServiceHandlers } from './handlers';
import { UserMetrics } from './metrics';

export const SERVICE_NAME = 'user-service';

/** Assembles storage, handlers and the gRPC server from configuration, and starts serving. */
export async function startUserService(config: UserServiceConfig, telemetry: Telemetry): Promise<RunningService> {
  const { logger, registry } = telemetry;
  const pool = await openConfiguredPostgres(config, { serviceName: SERVICE_NAME, migrationsDir: USER_MIGRATIONS_DIR, logger, registry });
  const users = pool ? new PostgresUserRepository(pool) : new InMemoryUserRepository();

  const server = new GrpcServer({ ...grpcServerOptions(config, telemetry), protoFiles: [protoMetadata] });
  const pageTokens = PageTokens.fromConfig(config.pageTokenKey, logger);
  server.addService(
    UserServiceService,
    userServiceHandlers({ users, metrics: new UserMetrics(registry), pageTokens, maxMessageBytes: config.grpcMaxMessageBytes }),
  );
  return serve({ server, logger, ...(pool && { pool }) });
}
