import { credentials } from '@grpc/grpc-js';
import { FaultInjector, GrpcServer, openConfiguredPostgres, serve, type RunningService, type Telemetry } from '@platform/service-kit';
import { OrderServiceService, protoMetadata } from '../api/order/v1/order';
import { UserServiceClient } from '../api/user/v1/user';
import type { OrderServiceConfig } from '../config';
import { InMemoryOrderRepository, ORDER_MIGRATIONS_DIR, PostgresOrderRepository } from '../repository';
import { orderServiceHandlers } from './handlers';
import { OrderMetrics } from './metrics';
import { GrpcUserDirectory } from './user-directory';

export const SERVICE_NAME = 'order-service';

/** Assembles storage, the user client, handlers and the gRPC server from configuration, and starts serving. */
export async function startOrderService(config: OrderServiceConfig, telemetry: Telemetry): Promise<RunningService> {
  const { logger, registry } = telemetry;
  const pool = await openConfiguredPostgres(config, { serviceName: SERVICE_NAME, migrationsDir: ORDER_MIGRATIONS_DIR, logger, registry });
  const orders =
    pool && config.databaseUrl
      ? new PostgresOrderRepository({ pool, url: config.databaseUrl, logger })
      : new InMemoryOrderRepository();

  const userClient = new UserServiceClient(config.userServiceAddr, credentials.createInsecure(), {
    interceptors: [telemetry.clientMetrics.interceptor],
  });
  const users = new GrpcUserDirectory({ client: userClient, timeoutMs: config.userServiceTimeoutMs });

  const server = new GrpcServer({
    host: config.grpcHost,
    port: config.grpcPort,
    logger,
    protoFiles: [protoMetadata],
    shutdownGraceMs: config.shutdownGraceMs,
    interceptors: telemetry.serverInterceptors,
    faults: config.faultInjection && new FaultInjector({ registry, faults: config.faultInjection.faults }),
  });
  server.addService(OrderServiceService, orderServiceHandlers({ orders, users, logger, metrics: new OrderMetrics(registry) }));
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
