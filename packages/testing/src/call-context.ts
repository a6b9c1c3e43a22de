import { Metadata, type ServiceError, type status } from '@grpc/grpc-js';
import type { CallContext } from '@platform/service-kit';

/** The context a handler of `method` is given for a call with this deadline, cancelled through `signal`. */
export function testCallContext(method: string, deadline: Date | number, signal: AbortSignal = new AbortController().signal): CallContext {
  return { method, metadata: new Metadata(), deadline, peer: 'test', signal, sendHeaders: () => undefined };
}

/** What a generated client fails with when the server answers `code`. */
export function serviceError(code: status): ServiceError {
  return Object.assign(new Error(`code ${code}`), { code, details: `code ${code}`, metadata: new Metadata() });
}
