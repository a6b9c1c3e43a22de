/**
 * The Grafana datasources every dashboard refers to, by fixed UID. Grafana's
 * provisioning (compose/) declares datasources with exactly these UIDs, so
 * dashboards work on first open without picking a datasource.
 */
export const DATASOURCES = {
  prometheus: { type: 'prometheus', uid: 'prometheus' },
  jaeger: { type: 'jaeger', uid: 'jaeger' },
  elasticsearch: { type: 'elasticsearch', uid: 'elasticsearch-logs' },
} as const;

export type DatasourceRef = (typeof DATASOURCES)[keyof typeof DATASOURCES];

/** Where users open the other tools, as the Compose stack publishes them. */
export const TOOL_URLS = {
  jaeger: 'http://localhost:16686',
  kibana: 'http://localhost:5601',
} as const;
