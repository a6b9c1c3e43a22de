/**
 * What the platform emits, read off the platform itself: both services run
 * as processes (PostgreSQL, OTLP and Elasticsearch stand-ins, a fault on one
 * method, rate limiting on), the traffic generator's mixed scenario runs against them, and
 * what arrives is inventoried by name: metric families from /metrics, spans
 * and their attributes from the OTLP receiver, log fields from stdout.
 * Names only, never values, so that the same code gives the same catalogue.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { dropDatabase } from '@platform/service-kit';
import { freshDatabaseUrl, serviceMain, startServiceProcess, type ServiceProcess } from '@platform/testing';
import { runTraffic } from '@platform/traffic-generator';
import { FakeElasticsearch, OtlpTraceReceiver, type ReceivedSpan } from '../support';

export interface MetricFamily {
  name: string;
  type: string;
  help: string;
  labels: string[];
  /** False: no series in the run (labels unknown, unless prom-client's own definitions give them). */
  sampled: boolean;
  /** The services whose /metrics has it. */
  services: string[];
}

export interface SpanKindEntry {
  service: string;
  scope: string;
  kind: string;
  names: string[];
  attributes: string[];
  events: { name: string; attributes: string[] }[];
}

export interface Inventory {
  metrics: MetricFamily[];
  spans: SpanKindEntry[];
  /** Every field path of the services' log lines (dotted), sorted. */
  logFields: string[];
}

const SPAN_KINDS = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
/** A deterministic fault, so that its span event is always there. */
const FAULTS = 'order.v1.OrderService/GetOrder:latency=1ms,error=UNAVAILABLE@1';

/**
 * Two runs, merged: a span or a log field that only some runs show (a line
 * logged at shutdown, a span ending as the process stops) is then missing
 * only if both runs miss it, so the catalogue does not change from run to run.
 */
export async function collectInventory(runs = 2): Promise<Inventory> {
  const inventories: Inventory[] = [];
  for (let run = 0; run < runs; run++) inventories.push(await collectOnce());
  return mergeInventories(inventories);
}

function mergeInventories(inventories: Inventory[]): Inventory {
  const metrics = new Map<string, MetricFamily>();
  for (const family of inventories.flatMap((inventory) => inventory.metrics)) {
    const known = metrics.get(family.name);
    metrics.set(
      family.name,
      known
        ? {
            ...known,
            labels: union(known.labels, family.labels),
            sampled: known.sampled || family.sampled,
            services: union(known.services, family.services),
          }
        : family,
    );
  }
  const spans = new Map<string, SpanKindEntry>();
  for (const entry of inventories.flatMap((inventory) => inventory.spans)) {
    const key = `${entry.service}|${entry.scope}|${entry.kind}`;
    const known = spans.get(key);
    if (!known) {
      spans.set(key, entry);
      continue;
    }
    const events = new Map(known.events.map((event) => [event.name, event.attributes]));
    for (const event of entry.events) events.set(event.name, union(events.get(event.name) ?? [], event.attributes));
    spans.set(key, {
      ...known,
      names: union(known.names, entry.names),
      attributes: union(known.attributes, entry.attributes),
      events: [...events].map(([name, attributes]) => ({ name, attributes })).sort((a, b) => a.name.localeCompare(b.name)),
    });
  }
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  const byKey = (a: SpanKindEntry, b: SpanKindEntry) =>
    `${a.service}|${a.scope}|${a.kind}`.localeCompare(`${b.service}|${b.scope}|${b.kind}`);
  return {
    metrics: [...metrics.values()].sort(byName),
    spans: [...spans.values()].sort(byKey),
    logFields: union(...inventories.map((inventory) => inventory.logFields)),
  };
}

function union(...lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}

async function collectOnce(): Promise<Inventory> {
  const collector = new OtlpTraceReceiver();
  const elasticsearch = new FakeElasticsearch();
  const databases = [await freshDatabaseUrl('users'), await freshDatabaseUrl('orders')];
  const running: ServiceProcess[] = [];
  try {
    const common = {
      GRPC_HOST: '127.0.0.1',
      OTEL_SDK_DISABLED: 'false',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_EXPORTER_OTLP_ENDPOINT: await collector.listen(),
      ELASTICSEARCH_URL: await elasticsearch.listen(),
      FAULT_INJECTION_ENABLED: 'true',
      FAULTS,
      // Far above the traffic: the limiter's metrics exist, nothing is refused.
      RATE_LIMIT_PER_SECOND: '100000',
      LOG_LEVEL: 'info',
    };
    const user = await startServiceProcess(serviceMain('@platform/user-service'), { ...common, FAULTS: '', DATABASE_URL: databases[0] });
    running.push(user);
    const order = await startServiceProcess(serviceMain('@platform/order-service'), {
      ...common,
      DATABASE_URL: databases[1],
      USER_SERVICE_ADDR: `127.0.0.1:${user.port}`,
    });
    running.push(order);
    const services = { 'user-service': user, 'order-service': order };

    await runTraffic({
      userAddr: `127.0.0.1:${user.port}`,
      orderAddr: `127.0.0.1:${order.port}`,
      rate: 40,
      count: 80,
      concurrency: 20,
      seed: 7,
      scenario: 'mixed',
      errorRate: 0.3,
      deadlineMs: 10_000,
      jaegerUrl: 'http://localhost:16686',
    });
    const metrics = await metricFamilies(services);
    // SIGTERM flushes spans and log lines before the process exits.
    for (const service of running.splice(0)) await service.stop();
    return {
      metrics,
      spans: spanKinds(collector.spans),
      logFields: [...new Set(Object.values(services).flatMap((service) => service.logLines.flatMap((line) => fieldPaths(line))))].sort(),
    };
  } finally {
    for (const service of running) await service.stop();
    collector.close();
    await elasticsearch.close();
    for (const url of databases) await dropDatabase(url);
  }
}

/**
 * The labels of prom-client's default metrics, from its own definitions: some
 * (nodejs_active_requests{type}) have samples only while such a request is
 * in flight, so a scrape alone would list their labels now and then.
 */
function defaultMetricLabels(): Map<string, string[]> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return new Map(
    registry.getMetricsAsArray().map((metric) => [metric.name, (metric as unknown as { labelNames?: string[] }).labelNames ?? []]),
  );
}

async function metricFamilies(services: Record<string, ServiceProcess>): Promise<MetricFamily[]> {
  const families = new Map<string, MetricFamily>();
  const defaults = defaultMetricLabels();
  for (const [serviceName, service] of Object.entries(services)) {
    const text = await (
      await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`, { headers: { accept: 'text/plain;version=0.0.4' } })
    ).text();
    let current: MetricFamily | undefined;
    for (const line of text.split('\n')) {
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta) {
        const [, what, name, rest] = meta as unknown as [string, string, string, string];
        current = families.get(name) ?? {
          name,
          type: '',
          help: '',
          labels: [...(defaults.get(name) ?? [])],
          sampled: defaults.has(name),
          services: [],
        };
        families.set(name, current);
        if (what === 'HELP') current.help = rest;
        else current.type = rest;
        if (!current.services.includes(serviceName)) current.services.push(serviceName);
        continue;
      }
      if (!current || line === '' || line.startsWith('#')) continue;
      current.sampled = true;
      const labels = /^[^{\s]+\{(.*)\}/.exec(line)?.[1];
      if (labels === undefined) continue;
      for (const [, label] of labels.matchAll(/(\w+)="/g)) {
        if (label !== 'le' && label !== 'quantile' && !current.labels.includes(label!)) current.labels.push(label!);
      }
    }
  }
  return [...families.values()]
    .map((family) => ({ ...family, labels: family.labels.sort(), services: family.services.sort() }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function spanKinds(spans: ReceivedSpan[]): SpanKindEntry[] {
  const entries = new Map<
    string,
    SpanKindEntry & { nameSet: Set<string>; attributeSet: Set<string>; eventMap: Map<string, Set<string>> }
  >();
  for (const span of spans) {
    const service = String(span.resource['service.name'] ?? '');
    // OTLP numbers kinds from 1 (INTERNAL).
    const kind = SPAN_KINDS[span.kind - 1] ?? String(span.kind);
    const key = `${service}|${span.scope}|${kind}`;
    let entry = entries.get(key);
    if (!entry) {
      entry = {
        service,
        scope: span.scope,
        kind,
        names: [],
        attributes: [],
        events: [],
        nameSet: new Set(),
        attributeSet: new Set(),
        eventMap: new Map(),
      };
      entries.set(key, entry);
    }
    // Names carry the database (pg.query:SELECT orders_test_1a2b...): the catalogue keeps the form.
    const database = span.attributes['db.namespace'];
    entry.nameSet.add(typeof database === 'string' && database ? span.name.replaceAll(database, '<database>') : span.name);
    for (const attribute of Object.keys(span.attributes)) entry.attributeSet.add(attribute);
    for (const event of span.events) {
      const keys = entry.eventMap.get(event.name) ?? new Set<string>();
      for (const attribute of Object.keys(event.attributes)) keys.add(attribute);
      entry.eventMap.set(event.name, keys);
    }
  }
  return [...entries.values()]
    .map(({ service, scope, kind, nameSet, attributeSet, eventMap }) => ({
      service,
      scope,
      kind,
      names: [...nameSet].sort(),
      attributes: [...attributeSet].sort(),
      events: [...eventMap].map(([name, keys]) => ({ name, attributes: [...keys].sort() })).sort((a, b) => a.name.localeCompare(b.name)),
    }))
    .sort((a, b) => `${a.service}|${a.scope}|${a.kind}`.localeCompare(`${b.service}|${b.scope}|${b.kind}`));
}

/** user.id, rpc.grpc.status_code ...: the dotted paths of an object's leaves; arrays as []. */
function fieldPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value))
    return value.length === 0 ? [`${prefix}[]`] : [...new Set(value.flatMap((item) => fieldPaths(item, `${prefix}[]`)))];
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Object.entries(value);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([key, field]) => fieldPaths(field, prefix ? `${prefix}.${key}` : key));
}
