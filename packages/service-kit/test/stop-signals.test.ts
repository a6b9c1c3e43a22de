import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { it } from 'node:test';

/** A process that stops gracefully on the first signal, slowly (it never finishes here). */
const SLOW_TO_STOP = `
  require(${JSON.stringify(require.resolve('../src/stop-signals'))}).onStopSignals((signal) => process.stdout.write('stopping after ' + signal + '\\n'));
  setInterval(() => undefined, 1000);
  process.stdout.write('ready\\n');
`;

it('stops gracefully on the first SIGTERM or SIGINT, and exits at once on a second, with 128 + its number', async (t) => {
  const child = spawn(process.execPath, ['-e', SLOW_TO_STOP], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const printed = (text: string) =>
    new Promise<void>((resolve) => {
      const check = () => stdout.includes(text) && resolve();
      child.stdout.on('data', (chunk: Buffer) => ((stdout += chunk.toString()), check()));
      check();
    });
  await printed('ready');
  child.kill('SIGTERM');
  await printed('stopping after SIGTERM');
  const exited = once(child, 'exit');
  child.kill('SIGINT');
  const [code] = (await exited) as [number];
  assert.equal(code, 130);
  assert.equal(stderr, 'SIGINT again: exiting without waiting\n');
});
