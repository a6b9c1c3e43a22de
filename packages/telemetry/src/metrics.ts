import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry, type Metric, type OpenMetricsContentType } from 'prom-client';

/** One registry per process, in OpenMetrics so that exemplars can be exposed. */
export type MetricsRegistry = Registry<OpenMetricsContentType>;

/**
 * The process's registry. OpenMetrics is its native format because only
 * OpenMetrics carries exemplars; scrapers that ask for the classic text
 * format get that instead (see renderMetrics).
 */
export function createRegistry(labels: Record<string, string> = {}): MetricsRegistry {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  registry.setDefaultLabels(labels);
  // Event loop lag, heap, GC, CPU, handles: the Node.js runtime dashboard.
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Serves GET /metrics (and nothing else) on the given port. */
export class MetricsServer {
  private readonly server: Server;

  constructor(private readonly registry: MetricsRegistry) {
    this.server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      renderMetrics(this.registry, request.headers.accept).then(
        ({ contentType, body }) => response.writeHead(200, { 'Content-Type': contentType }).end(body),
        (error: unknown) => response.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics collection failed: ${String(error)}\n`),
      );
    });
  }

  /** Resolves with the bound port (0 picks a free one). */
  listen(port: number, host = '0.0.0.0'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve((this.server.address() as { port: number }).port));
    });
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Scrapers keep connections alive; without this close() would wait for them.
    this.server.closeAllConnections();
    return closed;
  }
}

const renderQueues = new WeakMap<MetricsRegistry, Promise<unknown>>();
const registeredNames = new WeakMap<object, string>();

/**
 * OpenMetrics (with exemplars) when the scraper accepts it, else the classic
 * text format. prom-client drops `_total` from counter names in place when it
 * renders OpenMetrics, which would leak into the next classic render or into
 * one running concurrently; so renders of a registry take turns, and each
 * starts from the names the metrics were registered with.
 */
export function renderMetrics(registry: MetricsRegistry, accept: string | undefined): Promise<{ contentType: string; body: string }> {
  const previous = renderQueues.get(registry) ?? Promise.resolve();
  const rendered = previous.then(() => render(registry, accept?.includes('application/openmetrics-text') ?? false));
  renderQueues.set(
    registry,
    rendered.catch(() => undefined),
  );
  return rendered;
}

async function render(registry: MetricsRegistry, openMetrics: boolean): Promise<{ contentType: string; body: string }> {
  // getMetricsAsArray returns the metric objects themselves; its typings say MetricObject.
  const metrics = registry.getMetricsAsArray() as unknown as (Metric & { name: string })[];
  for (const metric of metrics) {
    const name = registeredNames.get(metric) ?? metric.name;
    registeredNames.set(metric, name);
    metric.name = name;
  }
  if (openMetrics) return { contentType: Registry.OPENMETRICS_CONTENT_TYPE, body: await registry.metrics() };
  // The same metric objects in a classic registry render without exemplars,
  // which the classic format cannot carry. Built per scrape: services add
  // metrics after the endpoint starts.
  const classic = new Registry();
  for (const metric of metrics) classic.registerMetric(metric);
  return { contentType: Registry.PROMETHEUS_CONTENT_TYPE, body: await classic.metrics() };
}
