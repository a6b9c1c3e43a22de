import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, Code, isServerFault, readFieldViolations, readRetryDelayMs, toGrpcStatus, toRpcStatus } from '../src';

describe('error mapping', () => {
  it('sends an AppError with its code, message and google.rpc.BadRequest details', () => {
    const violations = [
      { field: 'email', description: 'is required' },
      { field: 'items[0].quantity', description: 'must be between 1 and 1000' },
    ];
    const status = toGrpcStatus(AppError.invalidArgument(violations));
    assert.equal(status.code, Code.INVALID_ARGUMENT);
    assert.match(status.details, /email: is required; items\[0\]\.quantity/);
    assert.deepEqual(readFieldViolations(status.metadata), violations);
  });

  it('sends a retry delay as google.rpc.RetryInfo, whole milliseconds rounded up', () => {
    const status = toGrpcStatus(AppError.resourceExhausted('slow down', 1234.2));
    assert.equal(status.code, Code.RESOURCE_EXHAUSTED);
    assert.equal(status.details, 'slow down');
    assert.equal(readRetryDelayMs(status.metadata), 1235);
    assert.deepEqual(readFieldViolations(status.metadata), []);
    assert.equal(readRetryDelayMs(toGrpcStatus(AppError.resourceExhausted('no hint')).metadata), undefined);
    assert.equal(readRetryDelayMs(toGrpcStatus(AppError.notFound('gone')).metadata), undefined);
  });

  it('turns anything unknown into INTERNAL without leaking its message', () => {
    const status = toGrpcStatus(new Error('password authentication failed for user "postgres"'));
    assert.equal(status.code, Code.INTERNAL);
    assert.equal(status.details, 'internal error');
    assert.equal(status.metadata.get('grpc-status-details-bin').length, 0);
    assert.deepEqual(toRpcStatus('a thrown string'), { code: Code.INTERNAL, message: 'internal error', details: [] });
  });

  it('tells the server faults (logged with cause) from the caller mistakes', () => {
    assert.equal(isServerFault(new TypeError('x')), true);
    assert.equal(isServerFault(AppError.unavailable('down')), true);
    assert.equal(isServerFault(AppError.notFound('no')), false);
    assert.equal(isServerFault(AppError.invalidArgument([{ field: 'id', description: 'must be a UUID' }])), false);
  });
});
