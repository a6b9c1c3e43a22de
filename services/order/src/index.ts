// The package's public surface: the service's composition root. Its handlers,
// storage and metrics stay internal; callers talk to it through @platform/contracts.
export { loadConfig, type OrderServiceConfig } from './config';
export { inMemoryOrderHandlers, SERVICE_NAME, startOrderService } from './internal/server';
export type { UserDirectory } from './internal/user-directory';
