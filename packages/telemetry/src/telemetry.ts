import type { Interceptor, ServerInterceptor } from '@grpc/grpc-js';
import { Counter } from 'prom-client';
import { GrpcClientMetrics, GrpcServerMetrics } from './grpc-metrics';
import { LogShipper, type ShippingCounts } from './log-shipping';
import { createLogger, datasetOf, type Logger } from './logger';
import { createRegistry, MetricsServer, type MetricsRegistry } from './metrics';
import { ServerCallObserver, serverTelemetryInterceptor, type ServerTelemetryOptions } from './server-interceptor';
import type { MethodShape, ServerProtocol } from './grpc-metrics';
import { traceExemplar } from './trace-context';
import { serviceIdentity } from './service-identity';
import { STDOUT_MAX_BACKLOG_BYTES, StdoutLines } from './stdout';
import { activeTracing, type Tracing } from './tracing';

/** Logged once /metrics is served, with its `port`. */
export const METRICS_SERVED_MESSAGE = 'metrics served at /metrics';

export interface TelemetryOptions {
  /** service.name: `user-service`, `order-service`. */
  serviceName: string;
  /** Where /metrics is served; 0 picks a free port. */
  metricsPort: number;
  metricsHost?: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Record gRPC server and client metrics (default true). Off only to measure
   * what they cost (the benchmarks); /metrics is served either way.
   */
  grpcMetrics?: boolean;
  /** Also ship logs to Elasticsearch, into the data stream logs-<service_name>-default. */
  elasticsearch?: { url: string; apiKey?: string | undefined; username?: string | undefined; password?: string | undefined } | undefined;
}

/**
 * Everything a service reports through: its logger, its metric registry and
 * the gRPC metric interceptors. One per process, made once by the bootstrap.
 */
export class Telemetry {
  readonly logger: Logger;
  readonly registry: MetricsRegistry;
  readonly serverMetrics: GrpcServerMetrics;
  readonly clientMetrics: GrpcClientMetrics;
  readonly metricsPort: number;
  /** Every server interceptor telemetry needs, outermost first. */
  readonly serverInterceptors: ServerInterceptor[];
  /** What every served call records, on either port. */
  private readonly callTelemetry: ServerTelemetryOptions;
  private readonly metricsServer: MetricsServer;
  private readonly shipper: LogShipper | undefined;
  private readonly stdout: StdoutLines;
  private stopped: Promise<void> | undefined;

  private constructor(parts: {
    logger: Logger;
    registry: MetricsRegistry;
    metricsServer: MetricsServer;
    metricsPort: number;
    shipper: LogShipper | undefined;
    stdout: StdoutLines;
    grpcMetrics: boolean;
  }) {
    this.logger = parts.logger;
    this.stdout = parts.stdout;
    this.shipper = parts.shipper;
    this.registry = parts.registry;
    this.metricsServer = parts.metricsServer;
    this.metricsPort = parts.metricsPort;
    this.serverMetrics = new GrpcServerMetrics(this.registry);
    this.clientMetrics = new GrpcClientMetrics(this.registry, traceExemplar);
    const tracing = activeTracing();
    this.callTelemetry = {
      logger: this.logger,
      metrics: parts.grpcMetrics ? this.serverMetrics : undefined,
      tracing: tracing !== undefined,
    };
    this.serverInterceptors = [serverTelemetryInterceptor(this.callTelemetry)];
    registerStdoutMetrics(this.registry, this.stdout);
    if (this.shipper) registerShippingMetrics(this.registry, this.shipper.counts);
    if (tracing) registerSpanPipelineMetrics(this.registry, tracing);
  }

  static async start(options: TelemetryOptions): Promise<Telemetry> {
    const identity = serviceIdentity();
    const shipper = options.elasticsearch
      ? new LogShipper({ ...options.elasticsearch, dataStream: `logs-${datasetOf(options.serviceName)}-default` })
      : undefined;
    const stdout = new StdoutLines();
    const logger = createLogger({
      name: options.serviceName,
      version: identity.version,
      environment: identity.environment,
      level: options.logLevel,
      destination: stdout,
      ...(shipper && { alsoTo: shipper }),
    });
    const registry = createRegistry();
    const metricsServer = new MetricsServer(registry);
    const metricsPort = await metricsServer.listen(options.metricsPort, options.metricsHost);
    logger.info({ port: metricsPort }, METRICS_SERVED_MESSAGE);
    return new Telemetry({ logger, registry, metricsServer, metricsPort, shipper, stdout, grpcMetrics: options.grpcMetrics ?? true });
  }

  /** What a server that is not grpc-js (the web endpoint) records of each call, as the gRPC port's interceptor does. */
  observeServerCall(method: MethodShape, peer: () => string, protocol: ServerProtocol): ServerCallObserver {
    return new ServerCallObserver(this.callTelemetry, method, peer, protocol);
  }

  /** Every interceptor a client channel to `target` needs (Order's calls to User). */
  clientInterceptorsFor(target: string): Interceptor[] {
    return this.callTelemetry.metrics ? [this.clientMetrics.interceptorFor(target)] : [];
  }

  /**
   * Writes and ships the last log lines, each within the flush budget, and
   * stops serving metrics; closed after the service has drained. Tracing is
   * the process's, started by the preload: the process's main flushes it
   * just before, with closeTracing().
   */
  close({ flushTimeoutMs: budgetMs }: { flushTimeoutMs: number }): Promise<void> {
    this.stopped ??= (async () => {
      const [stdout] = await Promise.all([this.stdout.close(budgetMs), this.shipper?.close(budgetMs)]);
      if (stdout === 'abandoned') process.stderr.write(`log lines stdout's reader had not taken within ${budgetMs} ms were dropped\n`);
      await this.metricsServer.close();
    })();
    return this.stopped;
  }
}

/** Log lines stdout's reader was too far behind to take. */
function registerStdoutMetrics(registry: MetricsRegistry, stdout: StdoutLines): void {
  countReadAtScrape(
    registry,
    'log_stdout_lines_dropped_total',
    `Log lines not written to stdout: its reader had fallen ${STDOUT_MAX_BACKLOG_BYTES / 2 ** 20} MiB behind (a stalled log driver), or they came after shutdown.`,
    () => stdout.dropped,
  );
}

/** A counter without labels whose value is a count kept elsewhere, read when /metrics is scraped. */
function countReadAtScrape(registry: MetricsRegistry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** Spans exported and dropped, as the SDK counts them, on the service's registry. */
function registerSpanPipelineMetrics(registry: MetricsRegistry, tracing: Tracing): void {
  const counter = (name: string, help: string, sdkName: string) =>
    new Counter({
      name,
      help,
      labelNames: ['error_type'],
      registers: [registry],
      collect() {
        this.reset();
        for (const count of tracing.pipeline.snapshot().filter((c) => c.name === sdkName)) {
          this.inc({ error_type: count.errorType }, count.value);
        }
      },
    });
  counter(
    'otel_sdk_processor_span_processed_total',
    'Spans handed to the batch processor; error_type="queue_full" were dropped because the export queue was full.',
    'otel.sdk.processor.span.processed',
  );
  counter(
    'otel_sdk_exporter_span_exported_total',
    'Spans the OTLP exporter tried to deliver; a non-empty error_type means they were lost.',
    'otel.sdk.exporter.span.exported',
  );
}

/** What happened to the log lines meant for Elasticsearch. */
function registerShippingMetrics(registry: MetricsRegistry, counts: ShippingCounts): void {
  new Counter({
    name: 'log_shipping_documents_total',
    help: 'Log lines meant for Elasticsearch, by outcome: shipped, rejected (by Elasticsearch) or dropped (buffer full or connection down).',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'shipped' }, counts.shipped);
      this.inc({ outcome: 'rejected' }, counts.rejected);
      this.inc({ outcome: 'dropped' }, counts.dropped);
    },
  });
  countReadAtScrape(
    registry,
    'log_shipping_failures_total',
    'Times shipping to Elasticsearch failed as a whole (connection refused, timeout) and was restarted.',
    () => counts.failures,
  );
}
