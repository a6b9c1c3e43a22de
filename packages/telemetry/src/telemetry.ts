import { GrpcClientMetrics, GrpcServerMetrics } from './grpc-metrics';
import { createLogger, type Logger } from './logger';
import { createRegistry, MetricsServer, type MetricsRegistry } from './metrics';

export interface TelemetryOptions {
  /** service.name: `user-service`, `order-service`. */
  serviceName: string;
  /** Where /metrics is served; 0 picks a free port. */
  metricsPort: number;
  metricsHost?: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
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
  private readonly metricsServer: MetricsServer;
  private stopped: Promise<void> | undefined;

  private constructor(parts: { logger: Logger; registry: MetricsRegistry; metricsServer: MetricsServer; metricsPort: number }) {
    this.logger = parts.logger;
    this.registry = parts.registry;
    this.metricsServer = parts.metricsServer;
    this.metricsPort = parts.metricsPort;
    this.serverMetrics = new GrpcServerMetrics(this.registry);
    this.clientMetrics = new GrpcClientMetrics(this.registry);
  }

  static async start(options: TelemetryOptions): Promise<Telemetry> {
    const logger = createLogger({ name: options.serviceName, level: options.logLevel });
    const registry = createRegistry();
    const metricsServer = new MetricsServer(registry);
    const metricsPort = await metricsServer.listen(options.metricsPort, options.metricsHost);
    logger.info({ port: metricsPort }, 'metrics served at /metrics');
    return new Telemetry({ logger, registry, metricsServer, metricsPort });
  }

  /** Stops serving metrics; called last, after the service has drained. */
  shutdown(): Promise<void> {
    this.stopped ??= this.metricsServer.close();
    return this.stopped;
  }
}
