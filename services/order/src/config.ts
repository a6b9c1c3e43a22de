import { envVar, parseEnv, serviceEnvShape, toServiceConfig, type ServiceConfig } from '@platform/service-kit';

export interface OrderServiceConfig extends ServiceConfig {
  /** gRPC target of user.v1.UserService. */
  userServiceAddr: string;
  /** Deadline of a call to the user service, shortened further by the incoming call's own deadline. */
  userServiceTimeoutMs: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): OrderServiceConfig {
  const parsed = parseEnv(
    {
      ...serviceEnvShape({ grpcPort: 50052, metricsPort: 9465 }),
      USER_SERVICE_ADDR: envVar.grpcTarget('localhost:50051'),
      USER_SERVICE_TIMEOUT_MS: envVar.milliseconds(2_000),
    },
    env,
  );
  return {
    ...toServiceConfig(parsed),
    userServiceAddr: parsed.USER_SERVICE_ADDR,
    userServiceTimeoutMs: parsed.USER_SERVICE_TIMEOUT_MS,
  };
}
