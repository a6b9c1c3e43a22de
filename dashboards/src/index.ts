import { business } from './business';
import { dependencies } from './dependencies';
import { runtime } from './runtime';
import { servicesOverview } from './services-overview';
import { telemetryPipeline } from './telemetry-pipeline';

export { DATASOURCES, TOOL_URLS, type DatasourceRef } from './datasources';
export { DashboardDefinition, VARIABLES, type DashboardSpec, type VariableName } from './dashboard';
export { Panel, type Query } from './panels';

/** Every dashboard of the platform, in the order Grafana lists them. */
export const DASHBOARDS = [servicesOverview, dependencies, business, runtime, telemetryPipeline];
