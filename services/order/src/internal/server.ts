import { credentials } from '@grpc/grpc-js';
import { GrpcServer, openConfiguredPostgres, serve, type Logger, type RunningService } from '@platform/service-kit';
import { OrderServiceService, protoMetadata } from '../api/order/v1/order';
import { UserServiceClient } from '../api/user/v1/user';
import type { OrderServiceConfig } from '../config';
import { InMemoryOrderRepository, ORDER_MIGRATIONS_DIR, PostgresOrderRepository } from '../repository';
import { orderServiceHandlers } from './handlers';
import { GrpcUserDirectory } from './user-directory';

export const SERVICE_NAME = 'order-service';

/** Assembles storage, the user client, handlers and the gRPC server from configuration, and starts serving. */
export async function startOrderService(config: OrderServiceConfig, logger: Logger): Promise<RunningService> {
  const pool = await openConfiguredPostgres(config, { serviceName: SERVICE_NAME, migrationsDir: ORDER_MIGRATIONS_DIR, logger });
  const orders =
    pool && config.databaseUrl
      ? new PostgresOrderRepository({ pool, url: config.databaseUrl, logger })
      : new InMemoryOrderRepository();

  const userClient = new UserServiceClient(config.userServiceAddr, credentials.createInsecure());
  const users = new GrpcUserDirectory({ client: userClient, timeoutMs: config.userServiceTimeoutMs });

  const server = new GrpcServer({
    host: config.grpcHost,
    port: config.grpcPort,
    logger,
    protoFiles: [protoMetadata],
    shutdownGraceMs: config.shutdownGraceMs,
  });
  server.addService(OrderServiceService, orderServiceHandlers({ orders, users, logger }));
  return serve({
    server,
    logger,
    ...(pool && { pool }),
    onShutdown: async () => {
      userClient.close();
      await orders.close();
    },
  });
}
