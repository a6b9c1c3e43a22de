import { parseEnv, serviceEnvShape, toServiceConfig, type ServiceConfig } from '@platform/service-kit';

export type UserServiceConfig = ServiceConfig;

/**
 * The default receive limit: the largest valid request is a CreateUser of
 * 254 characters of email and 100 of display name, 4 bytes each at most
 * (about 1.4 KiB); 16 KiB leaves room and refuses a megabyte before decoding.
 */
const MAX_REQUEST_BYTES = 16 * 1024;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): UserServiceConfig {
  return toServiceConfig(parseEnv(serviceEnvShape({ grpcPort: 50051, metricsPort: 9464, maxReceiveMessageBytes: MAX_REQUEST_BYTES }), env));
}
