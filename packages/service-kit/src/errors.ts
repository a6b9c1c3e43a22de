import { Metadata, status as Code, type StatusObject } from '@grpc/grpc-js';
import { isServerFaultCode } from '@platform/telemetry';
import type { Any } from '@platform/contracts/google/protobuf/any';
import { BadRequest, RetryInfo, type BadRequest_FieldViolation } from '@platform/contracts/google/rpc/error_details';
import { Status } from '@platform/contracts/google/rpc/status';
import { millisecondsOf, protoDurationOf } from './duration';
import { isDependencyUnavailable } from './unavailable';

export { status as Code } from '@grpc/grpc-js';

/** One violated rule of a request field; `field` is a path such as `items[0].quantity`. */
export interface FieldViolation {
  field: string;
  description: string;
}

const BAD_REQUEST_TYPE_URL = 'type.googleapis.com/google.rpc.BadRequest';
const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';
const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
const INTERNAL_MESSAGE = 'internal error';
const UNAVAILABLE_MESSAGE = 'a dependency of this service is unavailable; retry later';

/**
 * The one error type handlers and repositories throw. Everything else that
 * reaches a handler boundary is a bug or an outage and becomes INTERNAL.
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  /** Set: the caller may retry after this many milliseconds (sent as google.rpc.RetryInfo). */
  readonly retryDelayMs: number | undefined;

  constructor(
    readonly code: Code,
    message: string,
    readonly fieldViolations: readonly FieldViolation[] = [],
    options?: { cause?: unknown; retryDelayMs?: number },
  ) {
    super(message, options);
    this.retryDelayMs = options?.retryDelayMs;
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

  static resourceExhausted(message: string, retryDelayMs?: number): AppError {
    return new AppError(Code.RESOURCE_EXHAUSTED, message, [], retryDelayMs === undefined ? {} : { retryDelayMs });
  }
}

/** True for errors that are the server's fault (SERVER_FAULT_CODES of @platform/telemetry): these are logged with their cause. */
export function isServerFault(error: unknown): boolean {
  if (!(error instanceof AppError)) return true;
  return isServerFaultCode(error.code);
}

/**
 * Maps any thrown value to a google.rpc.Status. Only AppError messages reach
 * the caller; an unreachable dependency (a database that is down) is a
 * generic UNAVAILABLE, which callers may retry; anything else a generic
 * INTERNAL error.
 */
export function toRpcStatus(error: unknown): Status {
  if (!(error instanceof AppError)) {
    if (isDependencyUnavailable(error)) return { code: Code.UNAVAILABLE, message: UNAVAILABLE_MESSAGE, details: [] };
    return { code: Code.INTERNAL, message: INTERNAL_MESSAGE, details: [] };
  }
  const details: Any[] = [];
  if (error.fieldViolations.length > 0) {
    const badRequest: BadRequest = { fieldViolations: error.fieldViolations.map(toProtoViolation) };
    details.push({ typeUrl: BAD_REQUEST_TYPE_URL, value: Buffer.from(BadRequest.encode(badRequest).finish()) });
  }
  if (error.retryDelayMs !== undefined) {
    const retryInfo: RetryInfo = { retryDelay: protoDurationOf(Math.max(0, Math.ceil(error.retryDelayMs))) };
    details.push({ typeUrl: RETRY_INFO_TYPE_URL, value: Buffer.from(RetryInfo.encode(retryInfo).finish()) });
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

/** The google.rpc.Status a server put in `grpc-status-details-bin`, if any. */
function statusDetailsOf(metadata: Metadata | undefined): Status | undefined {
  const raw = metadata?.get(STATUS_DETAILS_KEY)[0];
  return raw instanceof Buffer ? Status.decode(raw) : undefined;
}

/** Reads the field violations a server put in `grpc-status-details-bin` (for clients and tests). */
export function readFieldViolations(metadata: Metadata | undefined): FieldViolation[] {
  const status = statusDetailsOf(metadata);
  return status ? fieldViolationsOf(status) : [];
}

/** Reads the google.rpc.RetryInfo delay, in milliseconds, a server put in `grpc-status-details-bin`. */
export function readRetryDelayMs(metadata: Metadata | undefined): number | undefined {
  const detail = statusDetailsOf(metadata)?.details.find((candidate) => candidate.typeUrl === RETRY_INFO_TYPE_URL);
  const delay = detail && RetryInfo.decode(detail.value).retryDelay;
  return delay && Math.round(millisecondsOf(delay));
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
