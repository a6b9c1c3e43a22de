import * as dashgen from 'grafana-dash-gen';
import { DATASOURCES, TOOL_URLS } from './datasources';
import type { Panel } from './panels';

/** The template variables every service dashboard offers. */
export const VARIABLES = {
  // Services only: Prometheus also scrapes Jaeger and itself.
  job: { label: 'Service', query: 'label_values(grpc_server_handled_total, job)' },
  method: { label: 'Method', query: 'label_values(grpc_server_handled_total{job=~"$job"}, grpc_method)' },
  instance: { label: 'Instance', query: 'label_values(up{job=~"$job"}, instance)' },
} as const;

export type VariableName = keyof typeof VARIABLES;

export interface DashboardSpec {
  /** Fixed UID: dashboards link to each other and alerts link to them by it. */
  uid: string;
  title: string;
  description: string;
  tags: string[];
  variables: VariableName[];
  /** Variables a dashboard does not offer because it is about one value of them (its job); other variables' queries use that value. */
  fixed?: Partial<Record<VariableName, string>>;
  rows: { title: string; panels: Panel[] }[];
}

/** A dashboard as code: its spec, and the JSON Grafana provisions. */
export class DashboardDefinition {
  constructor(readonly spec: DashboardSpec) {}

  get panels(): Panel[] {
    return this.spec.rows.flatMap((row) => row.panels);
  }

  /**
   * Built with grafana-dash-gen's Dashboard, Row, template and link API, then
   * moved to Grafana's current JSON model: the library emits the legacy
   * rows layout (schemaVersion 6), which current Grafana only reads through
   * migrations. Rows become row panels and every panel gets a gridPos.
   */
  toGrafanaJson(): Record<string, unknown> {
    const { spec } = this;
    const dashboard = new dashgen.Dashboard({ title: spec.title, tags: spec.tags, refresh: '30s', time: { from: 'now-30m', to: 'now' } });
    for (const name of spec.variables) {
      const query = Object.entries(spec.fixed ?? {}).reduce(
        (text, [fixed, value]) => text.replaceAll(`$${fixed}`, value),
        VARIABLES[name].query as string,
      );
      dashboard.addTemplate(
        new dashgen.Templates.Query(query, {
          name,
          label: VARIABLES[name].label,
          datasource: DATASOURCES.prometheus.uid,
          includeAll: true,
          multi: true,
          allValue: '.*',
          refresh: true,
        }),
      );
    }
    dashboard.links.push(
      new dashgen.ExternalLink({
        title: 'Traces in Jaeger',
        url: `${TOOL_URLS.jaeger}/search`,
        tooltip: 'Find traces by service, operation and tags',
      }),
      new dashgen.ExternalLink({
        title: 'Logs in Kibana',
        url: `${TOOL_URLS.kibana}/app/discover`,
        tooltip: "Search the services' logs; filter by trace.id",
      }),
    );
    for (const row of spec.rows) {
      const legacyRow = new dashgen.Row({ title: row.title });
      // Our panels render Grafana's current model; the row only carries them.
      for (const panel of row.panels) legacyRow.addPanel(panel as unknown as dashgen.Row['panels'][number]);
      dashboard.addRow(legacyRow);
    }
    const legacy = dashboard.generate() as unknown as {
      title: string;
      tags: string[];
      refresh: string;
      time: unknown;
      templating: { list: Record<string, unknown>[] };
      rows: { title: string; panels: Record<string, unknown>[] }[];
      links: Record<string, unknown>[];
    };
    return {
      uid: spec.uid,
      title: legacy.title,
      description: spec.description,
      tags: legacy.tags,
      timezone: 'browser',
      editable: true,
      graphTooltip: 1,
      refresh: legacy.refresh,
      time: legacy.time,
      schemaVersion: 39,
      version: 1,
      links: [
        ...legacy.links.map(({ title, tooltip, url, icon, targetBlank, type }) => ({
          title,
          tooltip,
          url,
          icon,
          targetBlank,
          type,
          tags: [],
          asDropdown: false,
          includeVars: false,
          keepTime: true,
        })),
        {
          title: 'Dashboards',
          type: 'dashboards',
          tags: ['grpc-platform'],
          asDropdown: true,
          icon: 'external link',
          includeVars: true,
          keepTime: true,
          targetBlank: false,
          tooltip: '',
          url: '',
        },
      ],
      templating: { list: legacy.templating.list.map(modernVariable) },
      annotations: { list: [] },
      panels: layout(
        spec.rows.map((row, index) => ({
          title: row.title,
          panels: legacy.rows[index]!.panels,
          spans: row.panels.map((panel) => panel.span),
        })),
      ),
    };
  }
}

function modernVariable(variable: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'query',
    name: variable.name,
    label: variable.label,
    datasource: DATASOURCES.prometheus,
    definition: variable.query,
    query: { query: variable.query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    // 2: refresh when the time range changes, so new methods and instances appear.
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    options: [],
    sort: 1,
  };
}

const GRID_WIDTH = 24;
const PANEL_HEIGHT = 8;

/** Row panels, then their panels left to right, wrapping at the grid's width. */
function layout(rows: { title: string; panels: Record<string, unknown>[]; spans: number[] }[]): Record<string, unknown>[] {
  const panels: Record<string, unknown>[] = [];
  let y = 0;
  let id = 1;
  for (const row of rows) {
    panels.push({ type: 'row', id: id++, title: row.title, collapsed: false, gridPos: { h: 1, w: GRID_WIDTH, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    row.panels.forEach((panel, index) => {
      const w = Math.min(GRID_WIDTH, row.spans[index]! * 2);
      if (x + w > GRID_WIDTH) {
        x = 0;
        y += PANEL_HEIGHT;
      }
      panels.push({ ...panel, id: id++, gridPos: { h: PANEL_HEIGHT, w, x, y } });
      x += w;
    });
    y += PANEL_HEIGHT;
  }
  return panels;
}
