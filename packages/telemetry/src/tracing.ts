import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { envDetector, hostDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_DEPLOYMENT_ENVIRONMENT_NAME,
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from '@opentelemetry/semantic-conventions';
import { SelfObservation } from './self-observation';
import { serviceIdentity } from './service-identity';
import { GrpcClientSpanNames } from './span-conventions';

export interface TracingOptions {
  /** service.name; OTEL_SERVICE_NAME wins when set. */
  serviceName: string;
  serviceVersion: string;
  /** deployment.environment.name, unless OTEL_RESOURCE_ATTRIBUTES names one. */
  environment: string;
  /** Where spans go. Default: OTLP over gRPC, configured by the OTEL_EXPORTER_OTLP_* variables. */
  exporter?: SpanExporter;
  /** Export each span as it ends instead of in batches (tests). */
  exportImmediately?: boolean;
}

/**
 * OpenTelemetry tracing for a service: the SDK with an explicit list of
 * instrumentations (gRPC, PostgreSQL, pino), batching, and the standard
 * OTEL_* variables honoured (OTEL_SDK_DISABLED, OTEL_TRACES_SAMPLER[_ARG],
 * OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_ENDPOINT ...). It must start
 * before @grpc/grpc-js and pg are loaded, which is what the preload does.
 */
export class Tracing {
  /** The SDK's own counts of spans exported, failed and dropped. */
  readonly pipeline = new SelfObservation();
  private readonly sdk: NodeSDK;
  private stopped: Promise<void> | undefined;

  constructor(options: TracingOptions) {
    const exporter =
      options.exporter ??
      new OTLPTraceExporter({ selfObsMeterProvider: this.pipeline } as ConstructorParameters<typeof OTLPTraceExporter>[0]);
    const export_: SpanProcessor = options.exportImmediately
      ? new SimpleSpanProcessor(exporter)
      : // An unreachable collector never blocks a call: the queue is bounded and
        // overflow is dropped and counted (otel_sdk_processor_span_processed_total{error_type="queue_full"}).
        new BatchSpanProcessor({ exporter, selfObsMeterProvider: this.pipeline });
    this.sdk = new NodeSDK({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: options.serviceName,
        [ATTR_SERVICE_VERSION]: options.serviceVersion,
        [ATTR_SERVICE_INSTANCE_ID]: randomUUID(),
        [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: options.environment,
      }),
      // Host attributes help tell replicas apart in Jaeger; process arguments would only add noise.
      resourceDetectors: [envDetector, hostDetector],
      spanProcessors: [new GrpcClientSpanNames(), export_],
      instrumentations: [
        new GrpcClientInstrumentation(),
        // Without a parent (a health probe's SELECT 1) a query is noise, not a trace.
        new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
        new PinoInstrumentation({
          // Logs go to stdout and Elasticsearch, not through the OTel logs pipeline.
          disableLogSending: true,
          logKeys: { traceId: 'trace.id', spanId: 'span.id', traceFlags: 'trace.flags' },
          logHook: (_span, record) => {
            // ECS has no trace.flags field.
            delete record['trace.flags'];
          },
        }),
      ],
      // Metrics are Prometheus (prom-client) and logs are pino: no OTel pipelines for them.
      metricReaders: [],
      logRecordProcessors: [],
    });
  }

  start(): void {
    this.sdk.start();
  }

  /** Exports what is still queued, then stops. */
  close(): Promise<void> {
    this.stopped ??= this.sdk.shutdown();
    return this.stopped;
  }
}

/**
 * @opentelemetry/instrumentation-grpc for outgoing calls only. Served calls
 * get their span from the platform's own interceptor (startServerSpan, via
 * ServerCallObserver): the instrumentation's server patch costs every call,
 * sampled or not, work that a span does not need (README, Benchmarks).
 */
class GrpcClientInstrumentation extends GrpcInstrumentation {
  override init(): ReturnType<GrpcInstrumentation['init']> {
    const definitions = super.init();
    for (const definition of definitions) {
      const patch = definition.patch;
      if (patch === undefined) continue;
      definition.patch = (moduleExports: typeof grpc, moduleVersion?: string) => {
        const patched = patch(moduleExports, moduleVersion) as typeof grpc;
        this._unwrap(patched.Server.prototype, 'register');
        return patched;
      };
    }
    return definitions;
  }
}

let active: Tracing | undefined;

/** Starts the process's tracing; the preload calls this once, tests may call it with their own exporter. */
export function startTracing(options: TracingOptions): Tracing {
  if (active) throw new Error('tracing has already been started in this process');
  active = new Tracing(options);
  active.start();
  return active;
}

/** Exports the spans still queued and stops tracing: the last thing a process does. */
export async function closeTracing(): Promise<void> {
  await active?.close();
}

/** The tracing started in this process, if any. */
export function activeTracing(): Tracing | undefined {
  return active;
}

/** What the preload knows: see serviceIdentity. */
export function tracingOptionsFromEnvironment(env: NodeJS.ProcessEnv = process.env, mainScript = process.argv[1]): TracingOptions {
  const identity = serviceIdentity(env, mainScript);
  return { serviceName: identity.name, serviceVersion: identity.version, environment: identity.environment };
}
