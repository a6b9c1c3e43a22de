import {
  channelCredentials,
  Dependency,
  GrpcServer,
  grpcServerOptions,
  openConfiguredPostgres,
  PageTokens,
  serve,
  type Closer,
  type Logger,
  type RunningService,
  type ServiceImplementation,
  type Telemetry,
} from '@platform/service-kit';
import type { MetricsRegistry } from '@platform/telemetry';
import { OrderServiceService, protoMetadata } from '@platform/contracts/order/v1/order';
import { OrderService } from '@platform/contracts/order/v1/order_pb';
import { USER_SERVICE_RESILIENCE_DEFAULTS, type OrderServiceConfig } from '../config';
import { InMemoryOrderRepository, ORDER_MIGRATIONS_DIR, PostgresOrderRepository } from '../repository';
import { orderServiceHandlers } from './handlers';
import { OrderMetrics } from './metrics';
import { GrpcUserDirectory, userServiceBreaker, userServiceClient, type UserDirectory } from './user-directory';

export const SERVICE_NAME = 'order-service';

/** Assembles storage, the user client, handlers and the gRPC server from configuration, registering each close with `closer`, and starts serving. */
export async function startOrderService(config: OrderServiceConfig, telemetry: Telemetry, closer: Closer): Promise<RunningService> {
  const { logger, registry } = telemetry;
  const pool = await openConfiguredPostgres(config, { serviceName: SERVICE_NAME, migrationsDir: ORDER_MIGRATIONS_DIR, logger, registry });
  if (pool) closer.add('PostgreSQL pool', pool, (opened) => opened.end());
  const orders = closer.add(
    'order repository',
    pool && config.databaseUrl ? new PostgresOrderRepository({ pool, url: config.databaseUrl, logger }) : new InMemoryOrderRepository(),
    (repository) => repository.close(),
  );

  const resilience = config.userServiceResilience ?? USER_SERVICE_RESILIENCE_DEFAULTS;
  const userService = closer.add(
    'user service client',
    new Dependency({
      client: userServiceClient({
        target: config.userServiceAddr,
        // With TLS_* set, Order presents its own certificate to User and trusts only the platform's CA.
        credentials: channelCredentials(config),
        retryAttempts: resilience.retryAttempts,
        interceptors: telemetry.clientInterceptorsFor(config.userServiceAddr),
      }),
      timeoutMs: config.userServiceTimeoutMs,
      breaker: userServiceBreaker(resilience.breaker, telemetry),
    }),
    (dependency) => dependency.close(),
  );
  const users = new GrpcUserDirectory(userService);

  const server = new GrpcServer({ ...grpcServerOptions(config, telemetry, closer), protoFiles: [protoMetadata] });
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
    OrderService,
  );
  return serve({ server, logger, closer, ...(pool && { pool }) });
}

/**
 * The handlers over in-memory storage and the given user directory, for a host
 * other than the service's own gRPC server: the benchmark serves them over JSON
 * to compare the protocols.
 */
export function inMemoryOrderHandlers(options: {
  users: UserDirectory;
  registry: MetricsRegistry;
  logger: Logger;
  pageTokens: PageTokens;
  maxMessageBytes: number;
}): ServiceImplementation<typeof OrderServiceService> {
  const { registry, ...rest } = options;
  return orderServiceHandlers({ orders: new InMemoryOrderRepository(), metrics: new OrderMetrics(registry), ...rest });
}
