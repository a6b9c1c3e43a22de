import { DATASOURCES, type DatasourceRef } from './datasources';

/** One PromQL query of a panel. */
export interface Query {
  expr: string;
  /** Series name in the legend, e.g. `{{grpc_method}}`. */
  legend?: string;
  /** Show exemplars (trace ids) of this query's histogram. */
  exemplar?: boolean;
}

interface PanelBase {
  title: string;
  /** One sentence: what to look for. */
  description: string;
  queries: Query[];
  /** Grafana unit id: reqps, s, percentunit, bytes, short ... */
  unit: string;
  /** Width in twelfths of the dashboard (legacy `span`), 12 = full width. */
  span?: number;
  links?: { title: string; url: string }[];
}

/** A panel that renders Grafana's current JSON model; laid out by toGrafanaJson. */
export abstract class Panel {
  constructor(protected readonly base: PanelBase) {}

  get span(): number {
    return this.base.span ?? 6;
  }

  get title(): string {
    return this.base.title;
  }

  /** The queries, for checks that run them (the panel proof). */
  get queries(): readonly Query[] {
    return this.base.queries;
  }

  abstract readonly type: string;

  protected abstract options(): Record<string, unknown>;

  protected fieldDefaults(): Record<string, unknown> {
    return {};
  }

  protected targetExtras(): Record<string, unknown> {
    return {};
  }

  generate(): Record<string, unknown> {
    return {
      type: this.type,
      title: this.base.title,
      description: this.base.description,
      datasource: DATASOURCES.prometheus satisfies DatasourceRef,
      targets: this.base.queries.map((query, index) => ({
        refId: String.fromCharCode(65 + index),
        datasource: DATASOURCES.prometheus,
        expr: query.expr,
        legendFormat: query.legend ?? '__auto',
        ...(query.exemplar && { exemplar: true }),
        ...this.targetExtras(),
      })),
      fieldConfig: { defaults: { unit: this.base.unit, ...this.fieldDefaults() }, overrides: [] },
      options: this.options(),
      links: (this.base.links ?? []).map((link) => ({ ...link, targetBlank: true })),
    };
  }
}

export class TimeSeries extends Panel {
  readonly type = 'timeseries';

  constructor(base: PanelBase & { stack?: boolean; min?: number }) {
    super(base);
    this.stack = base.stack ?? false;
    this.min = base.min;
  }

  private readonly stack: boolean;
  private readonly min: number | undefined;

  protected options(): Record<string, unknown> {
    return {
      legend: { displayMode: 'table', placement: 'bottom', calcs: ['mean', 'max', 'lastNotNull'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    };
  }

  protected override fieldDefaults(): Record<string, unknown> {
    return {
      ...(this.min !== undefined && { min: this.min }),
      custom: {
        drawStyle: 'line',
        lineWidth: 1,
        fillOpacity: this.stack ? 30 : 10,
        showPoints: 'never',
        stacking: { mode: this.stack ? 'normal' : 'none', group: 'A' },
      },
    };
  }
}

export class Stat extends Panel {
  readonly type = 'stat';

  constructor(base: PanelBase & { thresholds?: { value: number; color: string }[] }) {
    super({ span: 3, ...base });
    this.thresholds = base.thresholds ?? [];
  }

  private readonly thresholds: { value: number; color: string }[];

  protected options(): Record<string, unknown> {
    return {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'area',
      textMode: 'auto',
    };
  }

  protected override fieldDefaults(): Record<string, unknown> {
    return { thresholds: { mode: 'absolute', steps: [{ value: null, color: 'green' }, ...this.thresholds] } };
  }
}

/** Latency distribution over time from a Prometheus histogram's buckets. */
export class Heatmap extends Panel {
  readonly type = 'heatmap';

  protected options(): Record<string, unknown> {
    return {
      calculate: false,
      yAxis: { unit: this.base.unit },
      cellGap: 1,
      color: { mode: 'scheme', scheme: 'Oranges', steps: 64 },
      exemplars: { color: 'rgba(255,0,255,0.7)' },
      tooltip: { mode: 'single', yHistogram: true },
    };
  }

  protected override targetExtras(): Record<string, unknown> {
    return { format: 'heatmap' };
  }
}

/** One row per series of an instant query: a ranking rather than a history. */
export class Table extends Panel {
  readonly type = 'table';

  protected options(): Record<string, unknown> {
    return { showHeader: true, sortBy: [{ displayName: 'Value', desc: true }] };
  }

  protected override targetExtras(): Record<string, unknown> {
    return { format: 'table', instant: true, range: false };
  }
}

/** Markdown, for the what-am-I-looking-at panel at the top of a dashboard. */
export class Text extends Panel {
  readonly type = 'text';

  constructor(options: { title: string; description: string; content: string; span?: number }) {
    super({ title: options.title, description: options.description, queries: [], unit: 'none', span: options.span ?? 12 });
    this.content = options.content;
  }

  private readonly content: string;

  protected options(): Record<string, unknown> {
    return { mode: 'markdown', content: this.content };
  }

  override generate(): Record<string, unknown> {
    // Text has no queries, datasource or field config.
    const { type, title, description, options, links } = super.generate();
    return { type, title, description, options, links };
  }
}
