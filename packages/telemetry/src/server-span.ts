import type { Metadata } from '@grpc/grpc-js';
import {
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type TextMapGetter,
} from '@opentelemetry/api';
import { canonicalCodeName, grpcMethodLabels, rpcSystemOf, type ServerProtocol } from './grpc-metrics';
import { isServerFaultCode } from './server-faults';

const TRACER_NAME = '@platform/telemetry';

/** Where a served call's W3C trace context comes from: gRPC metadata, or HTTP headers (the web endpoint). */
export const METADATA_GETTER: TextMapGetter<Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => {
    const values = metadata.get(key);
    return values.length === 0 ? undefined : values.map(String);
  },
};

export const HEADERS_GETTER: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/** A served call's span: the context to run its handler in, and its end. */
export interface ServerSpan {
  readonly context: Context;
  /** Set when the span is sampled: a trace that can be found in Jaeger. */
  readonly traceId: string | undefined;
  /** Sets the status attribute, marks a server fault ERROR (never a caller's mistake) and ends the span. */
  end(code: number, message?: string): void;
}

/** Span name and attributes of a method, made once: a span copies them, so one object serves every call. */
interface MethodSpanShape {
  name: string;
  attributes: Attributes;
}

const shapes = new Map<ServerProtocol, Map<string, MethodSpanShape>>();

function shapeOf(path: string, protocol: ServerProtocol): MethodSpanShape {
  let byPath = shapes.get(protocol);
  if (byPath === undefined) shapes.set(protocol, (byPath = new Map()));
  let shape = byPath.get(path);
  if (shape === undefined) {
    const { grpc_service: service, grpc_method: method } = grpcMethodLabels(path);
    shape = {
      name: `${service}/${method}`,
      attributes: Object.freeze({
        'rpc.system': rpcSystemOf(protocol),
        'rpc.service': service,
        'rpc.method': method,
        'app.protocol': protocol,
      }),
    };
    byPath.set(path, shape);
  }
  return shape;
}

/**
 * The server span of one served call, on the gRPC port and on the web
 * endpoint alike: named `order.v1.OrderService/CreateOrder` with the RPC
 * semantic conventions' attributes, a child of the caller's W3C trace
 * context, its status ERROR only for a server fault (SERVER_FAULT_CODES).
 *
 * Made with the OpenTelemetry API rather than by
 * @opentelemetry/instrumentation-grpc's server patch, which per call also
 * rebinds the call's event emitter to the context, wraps its sendMetadata
 * and serialises its options for a debug line, sampled or not: the cost is
 * measured in the README's Benchmarks section.
 */
export function startServerSpan<Carrier>(
  path: string,
  protocol: ServerProtocol,
  carrier: Carrier,
  getter: TextMapGetter<Carrier>,
): ServerSpan {
  const shape = shapeOf(path, protocol);
  const parent = propagation.extract(ROOT_CONTEXT, carrier, getter);
  const span = trace.getTracer(TRACER_NAME).startSpan(shape.name, { kind: SpanKind.SERVER, attributes: shape.attributes }, parent);
  const spanContext = span.spanContext();
  return {
    context: trace.setSpan(parent, span),
    traceId: spanContext.traceFlags & TraceFlags.SAMPLED ? spanContext.traceId : undefined,
    end: (code, message) => {
      if (!span.isRecording()) return span.end();
      if (protocol === 'connect') {
        // The conventions' values are the canonical names in lower case: `invalid_argument`, `cancelled`.
        if (code !== 0) span.setAttribute('rpc.connect_rpc.error_code', canonicalCodeName(code).toLowerCase());
      } else span.setAttribute('rpc.grpc.status_code', code);
      if (isServerFaultCode(code)) span.setStatus({ code: SpanStatusCode.ERROR, ...(message !== undefined && { message }) });
      span.end();
    },
  };
}
