import assert from 'node:assert/strict';
import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { AppError, readFieldViolations, type FieldViolation } from '@platform/service-kit';

// Shared with the fault CLI, which needs it outside tests.
export { unary } from '@platform/service-kit';

/** Awaits a call that must fail with `code`; returns the error for further checks. */
export async function expectStatus(call: Promise<unknown>, code: number): Promise<ServiceError> {
  try {
    await call;
  } catch (error) {
    const serviceError = error as ServiceError;
    assert.equal(serviceError.code, code, `expected status ${code}, got ${serviceError.code}: ${serviceError.details}`);
    return serviceError;
  }
  assert.fail(`expected status ${code}, but the call succeeded`);
}

/** Awaits an INVALID_ARGUMENT call and returns the field paths it names. */
export async function expectViolations(call: Promise<unknown>): Promise<string[]> {
  const error = await expectStatus(call, 3);
  return readFieldViolations(error.metadata).map((violation: FieldViolation) => violation.field);
}

/** Resolves once the server has sent response headers: for WatchOrders, the stream is live. */
export function headersReceived(stream: ClientReadableStream<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('metadata', () => resolve());
    stream.once('error', reject);
  });
}

/** The field paths an in-process validation rejects, or [] when it passes. */
export function rejectedFields(validate: () => unknown): string[] {
  try {
    validate();
    return [];
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    return error.fieldViolations.map((violation) => violation.field);
  }
}
