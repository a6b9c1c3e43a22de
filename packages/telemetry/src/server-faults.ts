/**
 * Which gRPC status codes are the server's fault: the one definition. It
 * decides which server spans are ERROR, which errors the kit logs with their
 * cause, what the availability SLO counts against its budget (the generated
 * recording rules), what the dashboards call server errors, which outcomes
 * make the traffic generator exit 1, and what the fuzz test refuses.
 *
 * Everything else is success or the caller's mistake: INVALID_ARGUMENT,
 * NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED (limits
 * the caller ran into), CANCELLED (the caller gave up) ...
 */
import { status as Code } from '@grpc/grpc-js';
import { grpcCodeName } from './grpc-metrics';

export const SERVER_FAULT_CODES: ReadonlySet<Code> = new Set([
  Code.UNKNOWN,
  // The server did not answer within the caller's deadline.
  Code.DEADLINE_EXCEEDED,
  // A method the service declares and does not implement; unknown methods are kept out of the metrics altogether.
  Code.UNIMPLEMENTED,
  Code.INTERNAL,
  // A dependency (PostgreSQL, User) unreachable: retryable, and still the service's failure.
  Code.UNAVAILABLE,
  Code.DATA_LOSS,
]);

export function isServerFaultCode(code: number): boolean {
  return SERVER_FAULT_CODES.has(code);
}

/** The server-fault codes as grpc_code label values (DeadlineExceeded ...), as a PromQL regex alternation. */
export function serverFaultCodeRegex(): string {
  return [...SERVER_FAULT_CODES].map(grpcCodeName).join('|');
}
