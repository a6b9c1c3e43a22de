import {
  channelCredentials,
  GrpcServer,
  grpcServerOptions,
  openConfiguredPostgres,
  PageTokens,
  serve,
  type RunningService,
  type Telemetry,
} from '@platform/service-kit';
import { OrderServiceService, protoMetadata } from '../api/order/v1/order';
import { USER_SERVICE_RESILIENCE_DEFAULTS, type OrderServiceConfig } from '../config';
import { InMemoryOrderRepository, ORDER_MIGRATIONS_DIR, PostgresOrderRepository } from '../repository';
import { orderServiceHandlers } from './handlers';
import { OrderMetrics } from './metrics';
import { createUserServiceClient } from './user-client';
import { GrpcUserDirectory, userServiceBreaker } from './user-directory';

export const SERVICE_NAME = 'order-service';

/** Assembles storage, the user client, handlers and the gRPC server from configuration, and starts serving. */
export async function startOrderService(config: OrderServiceConfig, telemetry: Telemetry): Promise<RunningService> {
  const { logger, registry } = telemetry;
  const pool = await openConfiguredPostgres(config, { serviceName: SERVICE_NAME, migrationsDir: ORDER_MIGRATIONS_DIR, logger, registry });
  const orders =
    pool && config.databaseUrl ? new PostgresOrderRepository({ pool, url: config.databaseUrl, logger }) : new InMemoryOrderRepository();

  const resilience = config.userServiceResilience ?? USER_SERVICE_RESILIENCE_DEFAULTS;
  const userClient = createUserServiceClient({
    target: config.userServiceAddr,
    // With TLS_* set, Order presents its own certificate to User and trusts only the platform's CA.
    credentials: channelCredentials(config),
    retryAttempts: resilience.retryAttempts,
    interceptors: telemetry.clientInterceptorsFor(config.userServiceAddr),
  });
  const breaker = userServiceBreaker(resilience.breaker, telemetry);
  const users = new GrpcUserDirectory({ client: userClient, timeoutMs: config.userServiceTimeoutMs, breaker });

  const server = new GrpcServer({ ...grpcServerOptions(config, telemetry), protoFiles: [protoMetadata] });
  server.addService(
    OrderServiceService,
    orderServiceHandlers({
      orders,
      users,
      logger,
      metrics: new OrderMetrics(registry),
      pageTokens: PageTokens.fromConfig(config.pageTokenKey, logger),
      maxMessageBytes: config.grpcMaxMessageBytes,
    }),
  );
  return serve({
    server,
    logger,
    ...(pool && { pool }),
    onShutdown: async () => {
      userClient.close();
      breaker.shutdown();
      await orders.close();
    },
  });
}
