import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type TextMapGetter } from '@opentelemetry/api';
import { canonicalCodeName, grpcMethodLabels, rpcSystemOf, type ServerProtocol } from './grpc-metrics';
import { isServerFaultCode } from './server-faults';

const TRACER_NAME = '@platform/telemetry';

const HEADERS_GETTER: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/** A served call's span: the context to run its handler in, and its end. */
export interface ServerSpan {
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
        'rpc.system': rpcSystemOf(protocol),
        'rpc.service': service,
        'rpc.method': method,
        'app.protocol': protocol,
      },
    },
    parent,
  );
  return {
    context: trace.setSpan(parent, span),
    end: (code, message) => {
      if (protocol === 'connect') {
        // The conventions' values are the canonical names in lower case: `invalid_argument`, `cancelled`.
        if (code !== 0) span.setAttribute('rpc.connect_rpc.error_code', canonicalCodeName(code).toLowerCase());
      } else span.setAttribute('rpc.grpc.status_code', code);
      if (isServerFaultCode(code)) span.setStatus({ code: SpanStatusCode.ERROR, ...(message !== undefined && { message }) });
      span.end();
    },
  };
}
