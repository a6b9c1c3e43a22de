import { Metadata, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';

/** The full signature of a generated grpc-js client's unary method. */
export type UnaryMethod<Request, Response> = (
  request: Request,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Response) => void,
) => ClientUnaryCall;

/** A generated client's unary method as a promise: `await unary(client, client.getUser)({ id })`. */
export function unary<Request, Response>(
  client: object,
  method: UnaryMethod<Request, Response>,
): (request: Request, options?: Partial<CallOptions>) => Promise<Response> {
  return (request, options = {}) =>
    new Promise((resolve, reject) => {
      method.call(client, request, new Metadata(), options, (error, response) => (error ? reject(error) : resolve(response)));
    });
}
