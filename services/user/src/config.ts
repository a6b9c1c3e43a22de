import { parseEnv, serviceEnvShape, toServiceConfig, type ServiceConfig } from '@platform/service-kit';

export type UserServiceConfig = ServiceConfig;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): UserServiceConfig {
  return toServiceConfig(parseEnv(serviceEnvShape({ grpcPort: 50051, metricsPort: 9464 }), env));
}
