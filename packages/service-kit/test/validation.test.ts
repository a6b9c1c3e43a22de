import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  AppError,
  Code,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  encodePageToken,
  field,
  pageSizeField,
  pageTokenField,
  parseRequest,
  protoFieldPath,
  resumePosition,
} from '../src';

function violationsOf(run: () => unknown): { field: string; description: string }[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, Code.INVALID_ARGUMENT);
    return [...error.fieldViolations];
  }
  assert.fail('expected INVALID_ARGUMENT');
}

describe('request validation', () => {
  it('names fields by their proto path', () => {
    assert.equal(protoFieldPath(['items', 3, 'unitPriceCents']), 'items[3].unit_price_cents');
    assert.equal(protoFieldPath(['pageSize']), 'page_size');
  });

  it('reports every violation of a request, not just the first', () => {
    const schema = z.object({ id: field.uuid(), displayName: field.text({ min: 1, max: 3, trim: true }) });
    const violations = violationsOf(() => parseRequest(schema, { id: 'nope', displayName: '   ' }));
    assert.deepEqual(violations.map((v) => v.field), ['id', 'display_name']);
  });

  it('counts text length in code points and normalises UUIDs to lower case', () => {
    const schema = z.object({ id: field.uuid(), name: field.text({ min: 1, max: 2 }) });
    const parsed = parseRequest(schema, { id: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', name: '😀😀' });
    assert.deepEqual(parsed, { id: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', name: '😀😀' });
    assert.equal(violationsOf(() => parseRequest(schema, { id: parsed.id, name: '😀😀😀' }))[0]?.field, 'name');
  });
});

describe('pagination', () => {
  const request = z.object({ pageSize: pageSizeField(), pageToken: pageTokenField() });

  it('defaults, caps and rejects page sizes', () => {
    assert.equal(parseRequest(request, { pageSize: 0, pageToken: '' }).pageSize, DEFAULT_PAGE_SIZE);
    assert.equal(parseRequest(request, { pageSize: 5000, pageToken: '' }).pageSize, MAX_PAGE_SIZE);
    assert.equal(parseRequest(request, { pageSize: 7, pageToken: '' }).pageSize, 7);
    assert.deepEqual(violationsOf(() => parseRequest(request, { pageSize: -1, pageToken: '' })).map((v) => v.field), ['page_size']);
  });

  it('round-trips a token and resumes from its position', () => {
    const token = encodePageToken({ listing: 'orders', scope: 'u1', after: '42' });
    const { pageToken } = parseRequest(request, { pageSize: 1, pageToken: token });
    assert.equal(resumePosition(pageToken, 'orders', 'u1'), '42');
  });

  it('rejects malformed tokens', () => {
    for (const token of ['garbage', Buffer.from('{"l":"orders"}').toString('base64url'), encodePageToken({ listing: 'x', scope: '', after: '1' }).slice(0, -3)]) {
      assert.deepEqual(violationsOf(() => parseRequest(request, { pageSize: 1, pageToken: token })).map((v) => v.field), ['page_token'], token);
    }
  });

  it('rejects a token from another listing or another filter', () => {
    const cursor = { listing: 'orders', scope: 'u1', after: '42' };
    assert.deepEqual(violationsOf(() => resumePosition(cursor, 'users', 'u1')).map((v) => v.field), ['page_token']);
    assert.deepEqual(violationsOf(() => resumePosition(cursor, 'orders', 'u2')).map((v) => v.field), ['page_token']);
  });
});
