import { InterceptingCall, status as Code, type Interceptor } from '@grpc/grpc-js';
import { Counter, Histogram } from 'prom-client';
import type { MetricsRegistry } from './metrics';

/**
 * Buckets from 0.5 ms to 10 s: a cached read answers in well under a
 * millisecond, a cold path through two services and PostgreSQL in tens of ms.
 */
export const GRPC_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The latency buckets gRFC A66 prescribes for its duration instruments, in seconds. */
export const A66_LATENCY_BUCKETS = [
  0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025,
  0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 2, 5, 10, 20, 50, 100,
];

/** go-grpc-prometheus names codes as Go does, so existing dashboards and alerts match. */
const CODE_NAMES: Record<number, string> = {
  [Code.OK]: 'OK',
  [Code.CANCELLED]: 'Canceled',
  [Code.UNKNOWN]: 'Unknown',
  [Code.INVALID_ARGUMENT]: 'InvalidArgument',
  [Code.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [Code.NOT_FOUND]: 'NotFound',
  [Code.ALREADY_EXISTS]: 'AlreadyExists',
  [Code.PERMISSION_DENIED]: 'PermissionDenied',
  [Code.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [Code.FAILED_PRECONDITION]: 'FailedPrecondition',
  [Code.ABORTED]: 'Aborted',
  [Code.OUT_OF_RANGE]: 'OutOfRange',
  [Code.UNIMPLEMENTED]: 'Unimplemented',
  [Code.INTERNAL]: 'Internal',
  [Code.UNAVAILABLE]: 'Unavailable',
  [Code.DATA_LOSS]: 'DataLoss',
  [Code.UNAUTHENTICATED]: 'Unauthenticated',
};

export function grpcCodeName(code: number): string {
  return CODE_NAMES[code] ?? 'Unknown';
}

/** A status code's canonical name (`OK`, `INVALID_ARGUMENT`), as gRFC A66 and the OpenTelemetry conventions have it. */
export function canonicalCodeName(code: number): string {
  return Code[code] ?? 'UNKNOWN';
}

export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

/** The grpc_type label of a method: whether its request and its response are streams. */
export function grpcTypeOf(method: { requestStream: boolean; responseStream: boolean }): GrpcType {
  if (method.requestStream) return method.responseStream ? 'bidi_stream' : 'client_stream';
  return method.responseStream ? 'server_stream' : 'unary';
}

/**
 * How a served call reached the server: gRPC itself, or gRPC-Web or Connect
 * from a browser (the web endpoint). The protocol label of the server series.
 */
export type ServerProtocol = 'grpc' | 'grpc_web' | 'connect';

/** rpc.system of a served call, in its span and its access line: gRPC-Web is gRPC. */
export function rpcSystemOf(protocol: ServerProtocol): 'grpc' | 'connect_rpc' {
  return protocol === 'connect' ? 'connect_rpc' : 'grpc';
}

interface MethodLabels {
  grpc_type: GrpcType;
  grpc_service: string;
  grpc_method: string;
  protocol?: ServerProtocol;
}

type HandledLabels = MethodLabels & { grpc_code: string };
type A66EndedLabels = { grpc_method: string; grpc_status: string; grpc_target?: string };

/** What identifies a method to grpc-js, on both sides of a call. */
export interface MethodShape {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/**
 * grpc_service and grpc_method of a method path, '/order.v1.OrderService/CreateOrder'
 * (the leading slash optional), as every per-method metric labels them;
 * anything else (an unknown path) is one bounded bucket.
 */
export function grpcMethodLabels(path: string): { grpc_service: string; grpc_method: string } {
  const match = /^\/?([^/]+)\/([^/]+)$/.exec(path);
  return { grpc_service: match?.[1] ?? 'unknown', grpc_method: match?.[2] ?? 'unknown' };
}

/**
 * The label sets of one method, made once rather than per call: per-call
 * parsing and label objects showed in CPU profiles (bench/).
 */
class MethodSeries {
  readonly labels: MethodLabels;
  /** grpc.method of gRFC A66: the full method name, pkg.Service/Method. */
  readonly a66Labels: { grpc_method: string };
  private readonly handled = new Map<number, HandledLabels>();
  private readonly a66Ended = new Map<number, A66EndedLabels>();

  /** `target`: a client channel's target, the grpc_target of its A66 series; `protocol`: a served call's. */
  constructor(
    method: MethodShape,
    private readonly target?: string,
    protocol?: ServerProtocol,
  ) {
    this.labels = { grpc_type: grpcTypeOf(method), ...grpcMethodLabels(method.path), ...(protocol !== undefined && { protocol }) };
    this.a66Labels = { grpc_method: method.path.replace(/^\//, '') };
  }

  a66EndedLabels(code: number): A66EndedLabels {
    let labels = this.a66Ended.get(code);
    if (labels === undefined) {
      // grpc.status: the status code's canonical name (OK, UNAVAILABLE), as gRFC A66 has it.
      labels = { ...this.a66Labels, grpc_status: canonicalCodeName(code), ...(this.target !== undefined && { grpc_target: this.target }) };
      this.a66Ended.set(code, labels);
    }
    return labels;
  }

  handledLabels(code: number): HandledLabels {
    let labels = this.handled.get(code);
    if (labels === undefined) {
      labels = { ...this.labels, grpc_code: grpcCodeName(code) };
      this.handled.set(code, labels);
    }
    return labels;
  }
}

/** One MethodSeries per method path; paths come from registered services, so the map stays small. */
class MethodSeriesCache {
  private readonly byPath = new Map<string, MethodSeries>();

  /** `target`: the client channel these series belong to, if any; `protocol`: the served calls'. */
  constructor(
    private readonly target?: string,
    private readonly protocol?: ServerProtocol,
  ) {}

  of(method: MethodShape): MethodSeries {
    let series = this.byPath.get(method.path);
    if (series === undefined) {
      series = new MethodSeries(method, this.target, this.protocol);
      this.byPath.set(method.path, series);
    }
    return series;
  }
}

/** Supplies exemplar labels (the current trace id) for a latency observation, if there is one. */
export type ExemplarSource = () => Record<string, string> | undefined;

const METHOD_LABELS = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
const HANDLED_LABELS = [...METHOD_LABELS, 'grpc_code'] as const;
/** The server's series also say which protocol a call came over (ServerProtocol). */
const SERVER_METHOD_LABELS = [...METHOD_LABELS, 'protocol'] as const;
const SERVER_HANDLED_LABELS = [...HANDLED_LABELS, 'protocol'] as const;

/** Records one served call; `finish` counts only its first call. */
export interface ServerCallRecorder {
  received(): void;
  sent(): void;
  /** `traceId` becomes the latency observation's exemplar. */
  finish(code: number, traceId: string | undefined): void;
}

/**
 * Server metrics with the names and labels of go-grpc-prometheus. The
 * server's telemetry interceptor (server-interceptor.ts) records every
 * service, handler and stream through it.
 */
export class GrpcServerMetrics {
  private readonly calls: CallMetrics;
  private readonly received: Counter<(typeof SERVER_METHOD_LABELS)[number]>;
  private readonly sent: Counter<(typeof SERVER_METHOD_LABELS)[number]>;
  private readonly series = new Map<ServerProtocol, MethodSeriesCache>();

  constructor(registry: MetricsRegistry) {
    this.calls = new CallMetrics(registry, 'server');
    const registers = [registry];
    this.received = new Counter({
      name: 'grpc_server_msg_received_total',
      help: 'Total number of RPC stream messages received on the server.',
      labelNames: SERVER_METHOD_LABELS,
      registers,
    });
    this.sent = new Counter({
      name: 'grpc_server_msg_sent_total',
      help: 'Total number of gRPC stream messages sent by the server.',
      labelNames: SERVER_METHOD_LABELS,
      registers,
    });
  }

  /** Counts a call as started. */
  start(method: MethodShape, protocol: ServerProtocol = 'grpc'): ServerCallRecorder {
    let cache = this.series.get(protocol);
    if (cache === undefined) this.series.set(protocol, (cache = new MethodSeriesCache(undefined, protocol)));
    const series = cache.of(method);
    const finish = this.calls.start(series);
    return {
      received: () => this.received.inc(series.labels),
      sent: () => this.sent.inc(series.labels),
      finish: (code, traceId) => finish(code, traceId === undefined ? undefined : { trace_id: traceId }),
    };
  }
}

/** Client metrics with go-grpc-prometheus names, for a service's outgoing calls. */
export class GrpcClientMetrics {
  private readonly calls: CallMetrics;

  constructor(
    registry: MetricsRegistry,
    private readonly exemplar: ExemplarSource = () => undefined,
  ) {
    this.calls = new CallMetrics(registry, 'client');
  }

  /** The interceptor for a channel to `target` (its grpc_target label, as the channel was created with it). */
  interceptorFor(target: string): Interceptor {
    const series = new MethodSeriesCache(target);
    return (options, nextCall) => this.intercept(series.of(options.method_definition), options, nextCall);
  }

  private intercept(series: MethodSeries, options: Parameters<Interceptor>[0], nextCall: Parameters<Interceptor>[1]): InterceptingCall {
    // Taken in the caller's context: the status callback runs outside it.
    const exemplar = this.exemplar();
    return new InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        const finish = this.calls.start(series);
        next(metadata, {
          onReceiveStatus: (status, nextStatus) => {
            finish(status.code, exemplar);
            nextStatus(status);
          },
        });
      },
    });
  }
}

/**
 * started / handled / handling_seconds, the trio both sides of a call report
 * with go-grpc-prometheus names (what the dashboards and alerts read); and,
 * from the same observations, the gRFC A66 / OpenTelemetry gRPC instruments
 * under Prometheus's OpenTelemetry naming: grpc.server.call.started and
 * grpc.server.call.duration on the server, grpc.client.call.duration on the
 * client (grpc_method, grpc_status, grpc_target). Per-attempt client
 * instruments and message sizes are not recorded: interceptors see calls,
 * not retry attempts, and messages decoded, not their size on the wire.
 */
class CallMetrics {
  private readonly started: Counter<(typeof SERVER_METHOD_LABELS)[number]>;
  private readonly handled: Counter<(typeof SERVER_HANDLED_LABELS)[number]>;
  private readonly handling: Histogram<(typeof SERVER_HANDLED_LABELS)[number]>;
  private readonly a66Started: Counter<'grpc_method'> | undefined;
  private readonly a66Duration: Histogram<'grpc_method' | 'grpc_status' | 'grpc_target'>;

  constructor(registry: MetricsRegistry, side: 'server' | 'client') {
    const registers = [registry];
    const where = side === 'server' ? 'on the server' : 'by the client';
    const methodLabels = side === 'server' ? SERVER_METHOD_LABELS : METHOD_LABELS;
    const handledLabels = side === 'server' ? SERVER_HANDLED_LABELS : HANDLED_LABELS;
    this.started = new Counter({
      name: `grpc_${side}_started_total`,
      help: `Total number of RPCs started ${where}.`,
      labelNames: methodLabels,
      registers,
    });
    this.handled = new Counter({
      name: `grpc_${side}_handled_total`,
      help: `Total number of RPCs completed ${where}, regardless of success or failure.`,
      labelNames: handledLabels,
      registers,
    });
    this.handling = new Histogram({
      name: `grpc_${side}_handling_seconds`,
      help: `Histogram of response latency (seconds) of gRPC calls completed ${where}.`,
      labelNames: handledLabels,
      buckets: GRPC_LATENCY_BUCKETS,
      enableExemplars: true,
      registers,
    });
    this.a66Started =
      side === 'server'
        ? new Counter({
            name: 'grpc_server_call_started_total',
            help: 'gRFC A66 grpc.server.call.started: calls started on the server.',
            labelNames: ['grpc_method'],
            registers,
          })
        : undefined;
    this.a66Duration = new Histogram({
      name: `grpc_${side}_call_duration_seconds`,
      help:
        side === 'server'
          ? "gRFC A66 grpc.server.call.duration: from the call's headers to its status, on the server."
          : "gRFC A66 grpc.client.call.duration: from the call's start to its status, by the client, retries included.",
      labelNames: side === 'server' ? ['grpc_method', 'grpc_status'] : ['grpc_method', 'grpc_status', 'grpc_target'],
      buckets: A66_LATENCY_BUCKETS,
      enableExemplars: true,
      registers,
    });
  }

  /**
   * Counts a call as started; the returned function records its end, once,
   * with the trace it belongs to.
   */
  start(series: MethodSeries): (code: number, exemplarLabels: Record<string, string> | undefined) => void {
    this.started.inc(series.labels);
    this.a66Started?.inc(series.a66Labels);
    const startedAt = process.hrtime.bigint();
    let finished = false;
    return (code, exemplarLabels) => {
      if (finished) return;
      finished = true;
      const labels = series.handledLabels(code);
      this.handled.inc(labels);
      const value = Number(process.hrtime.bigint() - startedAt) / 1e9;
      this.handling.observe(exemplarLabels ? { labels, value, exemplarLabels } : { labels, value });
      const a66Labels = series.a66EndedLabels(code);
      this.a66Duration.observe(exemplarLabels ? { labels: a66Labels, value, exemplarLabels } : { labels: a66Labels, value });
    };
  }
}
