import {
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { grpcCodeName, grpcMethodLabels, type ServerProtocol } from './grpc-metrics';
import { isServerFaultCode } from './server-faults';

const TRACER_NAME = '@platform/telemetry';

const HEADERS_GETTER: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/** A served call's span, and the context to run its handler in. */
export interface ServerSpan {
  readonly span: Span;
  readonly context: Context;
  /** Sets the status attribute, marks a server fault an error (as GrpcServerSpanConventions does on the gRPC port) and ends the span. */
  end(code: number, message?: string): void;
}

/**
 * The server span of a call that no instrumentation sees: gRPC-Web and
 * Connect calls of the web endpoint. Named and attributed as the gRPC
 * port's spans are (`order.v1.OrderService/CreateOrder`, rpc.*), and a
 * child of the caller's W3C trace context (a browser's fetch span).
 */
export function startServerSpan(path: string, headers: Headers, protocol: ServerProtocol): ServerSpan {
  const { grpc_service: service, grpc_method: method } = grpcMethodLabels(path);
  const parent = propagation.extract(ROOT_CONTEXT, headers, HEADERS_GETTER);
  const span = trace.getTracer(TRACER_NAME).startSpan(
    `${service}/${method}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'rpc.system': protocol === 'connect' ? 'connect_rpc' : 'grpc',
        'rpc.service': service,
        'rpc.method': method,
        'app.protocol': protocol,
      },
    },
    parent,
  );
  return {
    span,
    context: trace.setSpan(parent, span),
    end: (code, message) => {
      if (protocol === 'connect') {
        if (code !== 0) span.setAttribute('rpc.connect_rpc.error_code', grpcCodeName(code));
      } else span.setAttribute('rpc.grpc.status_code', code);
      if (isServerFaultCode(code)) span.setStatus({ code: SpanStatusCode.ERROR, ...(message !== undefined && { message }) });
      span.end();
    },
  };
}
