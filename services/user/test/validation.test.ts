import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequest } from '@platform/service-kit';
import { rejectedFields } from '@platform/testing';
import { createUserRequest } from '../src/internal/validation';

function fieldsRejected(request: { email: string; displayName: string }): string[] {
  return rejectedFields(() => parseRequest(createUserRequest, request));
}

describe('CreateUser validation', () => {
  it('accepts a valid request and trims the display name', () => {
    assert.deepEqual(parseRequest(createUserRequest, { email: 'ada@example.com', displayName: '  Ada  ' }), {
      email: 'ada@example.com',
      displayName: 'Ada',
    });
  });

  it('requires a valid email of at most 254 characters', () => {
    assert.deepEqual(fieldsRejected({ email: '', displayName: 'Ada' }), ['email']);
    assert.deepEqual(fieldsRejected({ email: 'not-an-email', displayName: 'Ada' }), ['email']);
    const local = 'a'.repeat(64);
    const longest = `${local}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    assert.equal(longest.length, 254);
    assert.deepEqual(fieldsRejected({ email: longest, displayName: 'Ada' }), []);
    assert.deepEqual(fieldsRejected({ email: `a${longest}`, displayName: 'Ada' }), ['email']);
  });

  it('requires a display name of 1 to 100 characters after trimming', () => {
    assert.deepEqual(fieldsRejected({ email: 'ada@example.com', displayName: '   ' }), ['display_name']);
    assert.deepEqual(fieldsRejected({ email: 'ada@example.com', displayName: 'é'.repeat(100) }), []);
    assert.deepEqual(fieldsRejected({ email: 'ada@example.com', displayName: 'x'.repeat(101) }), ['display_name']);
  });

  it('reports both fields when both are wrong', () => {
    assert.deepEqual(fieldsRejected({ email: 'x', displayName: '' }), ['email', 'display_name']);
  });
});
