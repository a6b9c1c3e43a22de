import { createClient, type Client, type Interceptor, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import type { DescService } from '@bufbuild/protobuf';

/** The protocols of the web endpoint, by their `protocol` metric label. */
export const WEB_PROTOCOLS = ['grpc_web', 'connect'] as const;
export type WebProtocol = (typeof WEB_PROTOCOLS)[number];

/**
 * A transport to a web endpoint over HTTP/1.1, as a browser has it: binary
 * protobuf for gRPC-Web, JSON for Connect (what the browser page uses),
 * with `headers` on every call (an Origin, an x-client-id).
 */
export function webTransport(baseUrl: string, protocol: WebProtocol, headers: Record<string, string> = {}): Transport {
  const withHeaders: Interceptor = (next) => (request) => {
    for (const [key, value] of Object.entries(headers)) request.header.set(key, value);
    return next(request);
  };
  const options = { baseUrl, httpVersion: '1.1' as const, interceptors: [withHeaders] };
  return protocol === 'grpc_web'
    ? createGrpcWebTransport({ ...options, useBinaryFormat: true })
    : createConnectTransport({ ...options, useBinaryFormat: false });
}

/** A Connect client of `service` at a web endpoint. */
export function webClient<Service extends DescService>(
  service: Service,
  baseUrl: string,
  protocol: WebProtocol,
  headers?: Record<string, string>,
): Client<Service> {
  return createClient(service, webTransport(baseUrl, protocol, headers));
}
