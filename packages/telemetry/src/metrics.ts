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

/** OpenMetrics (with exemplars) when the scraper accepts it, else the classic text format. */
export async function renderMetrics(registry: MetricsRegistry, accept: string | undefined): Promise<{ contentType: string; body: string }> {
  if (accept?.includes('application/openmetrics-text')) {
    return { contentType: Registry.OPENMETRICS_CONTENT_TYPE, body: await registry.metrics() };
  }
  // The same metric objects in a classic registry render without exemplars,
  // which the classic format cannot carry. Built per scrape: services add
  // metrics after the endpoint starts.
  const classic = new Registry();
  // getMetricsAsArray returns the metric objects themselves; its typings say MetricObject.
  for (const metric of registry.getMetricsAsArray()) classic.registerMetric(metric as unknown as Metric);
  return { contentType: Registry.PROMETHEUS_CONTENT_TYPE, body: await classic.metrics() };
}
