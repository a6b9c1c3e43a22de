import assert from 'node:assert/strict';
import { ConnectError, createClient, type Client, type Code, type Interceptor, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import type { DescService } from '@bufbuild/protobuf';
import { BadRequestSchema } from '@platform/contracts/google/rpc/error_details_pb';

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

/**
 * The error of a web call that must fail, with the field paths of its
 * google.rpc.BadRequest detail (none when it has none): what a browser
 * client reads from grpc-status-details-bin or Connect's JSON error.
 */
export async function expectWebFailure(call: Promise<unknown>): Promise<{ code: Code; fields: string[]; error: ConnectError }> {
  const error = await call.then(
    () => assert.fail('the call succeeded'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ConnectError, `not a ConnectError: ${String(error)}`);
  const fields = error.findDetails(BadRequestSchema).flatMap((details) => details.fieldViolations.map((violation) => violation.field));
  return { code: error.code, fields, error };
}
