import { runService } from '@platform/service-kit';
import { loadConfig } from './config';
import { SERVICE_NAME, startUserService } from './internal/server';

runService({ name: SERVICE_NAME, loadConfig: () => loadConfig(), start: startUserService });
