// The package's public surface: the service's composition root. Its handlers,
// storage and metrics stay internal; callers talk to it through @platform/contracts.
export { loadConfig, type UserServiceConfig } from './config';
export { inMemoryUserHandlers, SERVICE_NAME, startUserService } from './internal/server';
