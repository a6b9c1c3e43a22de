import { Metadata, status as Code, type StatusObject } from '@grpc/grpc-js';
import type { Any } from './api/google/protobuf/any';
import { BadRequest, type BadRequest_FieldViolation } from './api/google/rpc/error_details';
import { Status } from './api/google/rpc/status';

export { status as Code } from '@grpc/grpc-js';

/** One violated rule of a request field; `field` is a path such as `items[0].quantity`. */
export interface FieldViolation {
  field: string;
  description: string;
}

const BAD_REQUEST_TYPE_URL = 'type.googleapis.com/google.rpc.BadRequest';
const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
const INTERNAL_MESSAGE = 'internal error';

/**
 * The one error type handlers and repositories throw. Everything else that
 * reaches a handler boundary is a bug or an outage and becomes INTERNAL.
 */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly code: Code,
    message: string,
    readonly fieldViolations: readonly FieldViolation[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static invalidArgument(violations: readonly FieldViolation[]): AppError {
    const summary = violations.map((v) => `${v.field}: ${v.description}`).join('; ');
    return new AppError(Code.INVALID_ARGUMENT, `invalid request: ${summary}`, violations);
  }

  static notFound(message: string): AppError {
    return new AppError(Code.NOT_FOUND, message);
  }

  static alreadyExists(message: string): AppError {
    return new AppError(Code.ALREADY_EXISTS, message);
  }

  static failedPrecondition(message: string): AppError {
    return new AppError(Code.FAILED_PRECONDITION, message);
  }

  static unavailable(message: string, cause?: unknown): AppError {
    return new AppError(Code.UNAVAILABLE, message, [], { cause });
  }
}

/** True for errors that are the server's fault: these are logged with their cause. */
export function isServerFault(error: unknown): boolean {
  if (!(error instanceof AppError)) return true;
  return SERVER_FAULT_CODES.has(error.code);
}

const SERVER_FAULT_CODES: ReadonlySet<Code> = new Set([
  Code.UNKNOWN,
  Code.INTERNAL,
  Code.UNAVAILABLE,
  Code.DATA_LOSS,
  Code.DEADLINE_EXCEEDED,
  Code.UNIMPLEMENTED,
]);

/**
 * Maps any thrown value to a google.rpc.Status. Only AppError messages reach
 * the caller; anything else is reported as a generic INTERNAL error.
 */
export function toRpcStatus(error: unknown): Status {
  if (!(error instanceof AppError)) {
    return { code: Code.INTERNAL, message: INTERNAL_MESSAGE, details: [] };
  }
  const details: Any[] = [];
  if (error.fieldViolations.length > 0) {
    const badRequest: BadRequest = { fieldViolations: error.fieldViolations.map(toProtoViolation) };
    details.push({ typeUrl: BAD_REQUEST_TYPE_URL, value: Buffer.from(BadRequest.encode(badRequest).finish()) });
  }
  return { code: error.code, message: error.message, details };
}

/** Maps any thrown value to the status a grpc-js handler answers with. */
export function toGrpcStatus(error: unknown): StatusObject {
  const rpcStatus = toRpcStatus(error);
  const metadata = new Metadata();
  if (rpcStatus.details.length > 0) {
    metadata.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode(rpcStatus).finish()));
  }
  return { code: rpcStatus.code, details: rpcStatus.message, metadata };
}

/** Reads the field violations a server put in `grpc-status-details-bin` (for clients and tests). */
export function readFieldViolations(metadata: Metadata | undefined): FieldViolation[] {
  const raw = metadata?.get(STATUS_DETAILS_KEY)[0];
  if (!(raw instanceof Buffer)) return [];
  return fieldViolationsOf(Status.decode(raw));
}

/** The BadRequest field violations inside a google.rpc.Status (as sent per item by streaming RPCs). */
export function fieldViolationsOf(status: Status): FieldViolation[] {
  return status.details
    .filter((detail) => detail.typeUrl === BAD_REQUEST_TYPE_URL)
    .flatMap((detail) => BadRequest.decode(detail.value).fieldViolations)
    .map(({ field, description }) => ({ field, description }));
}

function toProtoViolation(violation: FieldViolation): BadRequest_FieldViolation {
  return {
    field: violation.field,
    description: violation.description,
    reason: '',
    localizedMessage: undefined,
  };
}
