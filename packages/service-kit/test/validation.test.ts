import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  AppError,
  Code,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  PageTokens,
  fitPage,
  field,
  keysetPage,
  pageSizeField,
  pageTokenField,
  parseRequest,
  protoFieldPath,
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
    assert.deepEqual(
      violations.map((v) => v.field),
      ['id', 'display_name'],
    );
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
    assert.deepEqual(
      violationsOf(() => parseRequest(request, { pageSize: -1, pageToken: '' })).map((v) => v.field),
      ['page_size'],
    );
  });

  it('makes a page of a query that asked for one row more, resuming after the last row kept only when the extra row came', () => {
    const rows = ['1', '2', '3'].map((seq) => ({ seq, name: `row ${seq}` }));
    const name = (row: { name: string }) => row.name;
    assert.deepEqual(keysetPage(rows, 2, name), { items: ['row 1', 'row 2'], positions: ['1', '2'], next: '2' });
    assert.deepEqual(keysetPage(rows, 3, name), { items: ['row 1', 'row 2', 'row 3'], positions: ['1', '2', '3'] });
    assert.deepEqual(keysetPage([], 2, name), { items: [], positions: [] });
  });

  const tokens = new PageTokens('a-key-of-these-tests-0123456789abcdef');

  it('round-trips a token and resumes from its position; no token is the first page', () => {
    const token = tokens.encode({ listing: 'orders', scope: 'u1', after: '42' });
    const { pageToken } = parseRequest(request, { pageSize: 1, pageToken: token });
    assert.equal(tokens.resume(pageToken, 'orders', 'u1'), '42');
    assert.equal(tokens.resume('', 'orders', 'u1'), undefined);
  });

  it('rejects malformed, truncated, edited and foreign tokens', () => {
    const token = tokens.encode({ listing: 'orders', scope: '', after: '7' });
    const [body, mac] = token.split('.') as [string, string];
    const reencoded = (cursor: object) => `${Buffer.from(JSON.stringify(cursor)).toString('base64url')}.${mac}`;
    const rejected = [
      'garbage',
      body,
      token.slice(0, -3),
      `${token}.x`,
      reencoded({ l: 'orders', s: '', a: '8' }),
      // As long as a MAC in characters, longer in bytes (found by the fuzz test).
      `${body}.${'é'.repeat(22)}`,
      new PageTokens('another-deployment-key-0123456789abcdef').encode({ listing: 'orders', scope: '', after: '7' }),
    ];
    for (const candidate of rejected) {
      assert.deepEqual(
        violationsOf(() => tokens.resume(candidate, 'orders', '')).map((v) => v.field),
        ['page_token'],
        candidate,
      );
    }
    // Even correctly signed, a position PostgreSQL's bigint cannot hold is not one of ours.
    assert.deepEqual(
      violationsOf(() => tokens.resume(tokens.encode({ listing: 'orders', scope: '', after: '9999999999999999999' }), 'orders', '')).map(
        (v) => v.field,
      ),
      ['page_token'],
    );
    assert.deepEqual(
      violationsOf(() => parseRequest(request, { pageSize: 1, pageToken: 'x'.repeat(513) })).map((v) => v.field),
      ['page_token'],
    );
  });

  it('cuts a page to what fits in a response, resuming after the last item kept, and always keeps one', () => {
    const page = { items: ['a', 'b', 'c', 'd'], positions: ['1', '2', '3', '4'], next: '4' };
    const size = (item: string) => (item === 'd' ? 3000 : 400);
    assert.deepEqual(fitPage(page, size, 8192), page, 'all fit');
    assert.deepEqual(fitPage(page, size, 2048), { items: ['a', 'b'], positions: ['1', '2'], next: '2' });
    assert.deepEqual(fitPage({ items: ['d', 'a'], positions: ['4', '5'] }, size, 2048), { items: ['d'], positions: ['4'], next: '4' });
    const last = { items: ['a', 'b'], positions: ['1', '2'] };
    assert.deepEqual(fitPage(last, size, 4096), last, 'the last page keeps no next');
  });

  it('rejects a token from another listing or another filter', () => {
    const token = tokens.encode({ listing: 'orders', scope: 'u1', after: '42' });
    assert.deepEqual(
      violationsOf(() => tokens.resume(token, 'users', 'u1')).map((v) => v.field),
      ['page_token'],
    );
    assert.deepEqual(
      violationsOf(() => tokens.resume(token, 'orders', 'u2')).map((v) => v.field),
      ['page_token'],
    );
  });
});
