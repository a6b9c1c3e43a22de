import assert from 'node:assert/strict';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { StdoutLines } from '../src';

describe('StdoutLines', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'stdout-lines-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A file as stdout (closed with it): its writes never stall, so what is dropped is the backlog's doing alone. */
  function fileStdout(name: string, maxBacklogBytes?: number) {
    const file = path.join(dir, name);
    const fd = openSync(file, 'w');
    const stdout = new StdoutLines({ fd, ...(maxBacklogBytes !== undefined && { maxBacklogBytes }) });
    return { stdout, read: () => readFileSync(file, 'utf8').split('\n').filter(Boolean) };
  }

  it('writes every line, then closes once they are written, and counts a line that comes after', async () => {
    const { stdout, read } = fileStdout('all');
    const lines = Array.from({ length: 1000 }, (_, index) => `{"line":${index}}\n`);
    for (const line of lines) stdout.write(line);
    assert.equal(await stdout.close(10_000), 'flushed');
    stdout.write('{"late":true}\n');
    assert.deepEqual(
      read(),
      lines.map((line) => line.trimEnd()),
    );
    assert.equal(stdout.dropped, 1);
  });

  it('drops and counts the lines beyond its backlog while a write is in flight, keeping the rest whole and in order', async () => {
    const { stdout, read } = fileStdout('bounded', 200);
    const lines = Array.from({ length: 1000 }, (_, index) => `{"line":${String(index).padStart(4, '0')}}\n`);
    for (const line of lines) stdout.write(line);
    assert.equal(await stdout.close(10_000), 'flushed');
    const written = read();
    assert.ok(stdout.dropped > 0, 'lines beyond 200 bytes of backlog were dropped');
    assert.equal(written.length + stdout.dropped, lines.length);
    assert.deepEqual(
      written,
      lines.slice(0, written.length).map((line) => line.trimEnd()),
    );
  });
});
