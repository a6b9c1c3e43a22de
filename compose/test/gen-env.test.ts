import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { COMPOSE_DIR, readEnvFile } from '../support/compose-file';

const SCRIPT = path.resolve(COMPOSE_DIR, '../scripts/gen-env.sh');
const defaults = readEnvFile();
const placeholders = Object.keys(defaults).filter((name) => defaults[name]!.startsWith('change-me'));

describe('scripts/gen-env.sh', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gen-env-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const generate = (file: string) => spawnSync('bash', [SCRIPT, file], { encoding: 'utf8' });

  it('replaces every documented default password and key with a random value, readable by its owner only', () => {
    const file = path.join(dir, 'first');
    assert.equal(generate(file).status, 0);
    const generated = readEnvFile(file);
    assert.deepEqual(Object.keys(generated).sort(), [...placeholders].sort());
    for (const [name, value] of Object.entries(generated)) assert.match(value, /^[A-Za-z0-9]{32}$/, name);
    assert.equal(statSync(file).mode & 0o077, 0);
    const second = readEnvFile((generate(path.join(dir, 'second')), path.join(dir, 'second')));
    for (const name of placeholders) assert.notEqual(second[name], generated[name], `${name} is the same in two runs`);
  });

  it('never overwrites a file that exists', () => {
    const file = path.join(dir, 'existing');
    writeFileSync(file, 'POSTGRES_PASSWORD=chosen-by-hand\n');
    const run = generate(file);
    assert.equal(run.status, 0);
    assert.match(run.stderr, /exists; kept/);
    assert.equal(readFileSync(file, 'utf8'), 'POSTGRES_PASSWORD=chosen-by-hand\n');
  });
});
