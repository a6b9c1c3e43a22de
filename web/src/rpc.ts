import {
  Code,
  ConnectError,
  createClient,
  createContextKey,
  createContextValues,
  type Client,
  type Interceptor,
} from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { OrderService } from '@platform/contracts/order/v1/order_pb';
import { UserService } from '@platform/contracts/user/v1/user_pb';
import type { StorefrontConfig } from './config';
import { SERVICE_NAME } from './tracing';

/** Where rpcSpans leaves the trace id of the call it traced, for the page to show. */
const TRACE_ID = createContextKey<string | undefined>(undefined, { description: 'trace id of the call' });

/**
 * A client span per RPC, with the RPC semantic conventions (the fetch
 * instrumentation's HTTP span becomes its child): started active, so that
 * the fetch made in the same tick is traced beneath it. A stream's span ends
 * with the stream.
 */
const rpcSpans: Interceptor = (next) => (request) => {
  const service = request.service.typeName;
  const method = request.method.name;
  const url = new URL(request.url);
  const attributes = {
    'rpc.system': 'grpc',
    'rpc.service': service,
    'rpc.method': method,
    'server.address': url.hostname,
    'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
  };
  return trace.getTracer(SERVICE_NAME).startActiveSpan(`${service}/${method}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    request.contextValues.set(TRACE_ID, span.spanContext().traceId);
    try {
      const response = await next(request);
      if (!response.stream) {
        end(span, 0);
        return response;
      }
      return { ...response, message: endWith(response.message, span) };
    } catch (error) {
      end(span, ConnectError.from(error).code, error);
      throw error;
    }
  });
};

/** gRPC client spans: ERROR for any status but OK. */
function end(span: Span, code: number, error?: unknown): void {
  span.setAttribute('rpc.grpc.status_code', code);
  if (code !== 0)
    span.setStatus({ code: SpanStatusCode.ERROR, message: error === undefined ? Code[code] : ConnectError.from(error).rawMessage });
  span.end();
}

async function* endWith<T>(messages: AsyncIterable<T>, span: Span): AsyncIterable<T> {
  // Unless the stream ends or fails, the page stopped reading it: the caller cancelled.
  let code: number = Code.Canceled;
  let failure: unknown;
  try {
    yield* messages;
    code = 0;
  } catch (error) {
    failure = error;
    code = ConnectError.from(error).code;
    throw error;
  } finally {
    end(span, code, failure);
  }
}

export interface Clients {
  users: Client<typeof UserService>;
  orders: Client<typeof OrderService>;
}

/** gRPC-Web clients of the two services, binary protobuf, each call traced. */
export function createClients(config: StorefrontConfig): Clients {
  const transport = (baseUrl: string) => createGrpcWebTransport({ baseUrl, useBinaryFormat: true, interceptors: [rpcSpans] });
  return { users: createClient(UserService, transport(config.userUrl)), orders: createClient(OrderService, transport(config.orderUrl)) };
}

/** Call options that capture the call's trace id: `traced().options` in, `traced().traceId()` out. */
export function traced(): { options: { contextValues: ReturnType<typeof createContextValues> }; traceId: () => string | undefined } {
  const contextValues = createContextValues();
  return { options: { contextValues }, traceId: () => contextValues.get(TRACE_ID) };
}
