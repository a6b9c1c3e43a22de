import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, datasetOf, redactEmails } from '../src';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('service logger', () => {
  it('writes ECS fields Kibana understands', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ name: 'user-service', version: '1.2.3', environment: 'test', level: 'info', destination: stream });
    logger.info({ rpc: { method: 'GetUser' } }, 'hello');
    const [line] = lines;
    assert.ok(line);
    assert.equal(line['message'], 'hello');
    assert.equal(line['log.level'], 'info');
    assert.match(String(line['@timestamp']), /^\d{4}-\d\d-\d\dT/);
    assert.ok(line['ecs.version']);
    assert.equal(line['service.name'], 'user-service');
    assert.equal(line['service.version'], '1.2.3');
    assert.equal(line['service.environment'], 'test');
    assert.equal(line['event.dataset'], 'user_service');
    assert.deepEqual(line['rpc'], { method: 'GetUser' });
  });

  it('redacts email addresses from fields, messages and errors', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ name: 'user-service', level: 'info', destination: stream });
    logger.info({ email: 'ada@example.com', user: { email: 'ada@example.com', id: 7 } }, 'welcome ada@example.com');
    logger.error({ err: new Error('duplicate key for grace.hopper@navy.mil') }, 'insert failed');
    const text = JSON.stringify(lines);
    assert.doesNotMatch(text, /ada@example\.com|grace\.hopper@navy\.mil/);
    assert.equal(lines[0]?.['email'], '[email redacted]');
    assert.deepEqual(lines[0]?.['user'], { email: '[email redacted]', id: 7 });
    assert.equal(lines[0]?.['message'], 'welcome [email redacted]');
    assert.equal((lines[1]?.['error'] as { message: string }).message, 'duplicate key for [email redacted]');
    assert.equal((lines[1]?.['error'] as { type: string }).type, 'Error');
  });

  it('redacts email addresses from every logged field, whatever its name and depth', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ name: 'user-service', level: 'info', destination: stream });
    // A caller's input logged under a field that is not named email (fault.v1 ClearFaults.method).
    logger.warn({ method: 'ada@example.com', cleared: 0, request: { tags: ['x', 'to grace@navy.mil'] } }, 'fault injection cleared');
    assert.doesNotMatch(JSON.stringify(lines), /ada@example\.com|grace@navy\.mil/);
    assert.equal(lines[0]?.['method'], '[email redacted]');
    assert.deepEqual(lines[0]?.['request'], { tags: ['x', 'to [email redacted]'] });
    assert.equal(lines[0]?.['cleared'], 0);
  });

  it('censors a field named email whatever it holds, at any depth', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ name: 'user-service', level: 'info', destination: stream });
    // Not an address (a typo, a local part): still personal data under the name that says so.
    logger.warn({ email: 'ada', request: { contact: { email: 'ada.lovelace' } }, count: 2 }, 'bad input');
    assert.equal(lines[0]?.['email'], '[email redacted]');
    assert.deepEqual(lines[0]?.['request'], { contact: { email: '[email redacted]' } });
    assert.equal(lines[0]?.['count'], 2);
  });

  it('names datasets the way ECS and data streams require', () => {
    assert.equal(datasetOf('order-service'), 'order_service');
    assert.equal(redactEmails('no address here'), 'no address here');
    const stackLine = 'at callErrorFromStatus (/app/node_modules/@grpc/grpc-js/build/src/call.js:32:19)';
    assert.equal(redactEmails(stackLine), stackLine, 'npm scopes in stack traces are not addresses');
    assert.equal(redactEmails('to: first.last+tag@mail.example.co.uk.'), 'to: [email redacted].');
  });
});
