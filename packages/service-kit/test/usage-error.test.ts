import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ConfigError, isUsageError, UsageError } from '../src';

/** A command run through runCommand, failing with `throwing` (a JavaScript expression). */
function command(throwing: string) {
  const script = `
    const { runCommand, UsageError, ConfigError } = require(${JSON.stringify(require.resolve('../src'))});
    runCommand(async () => { throw ${throwing}; }, { name: 'demo', usage: 'Usage: demo [--flag]', usageExitCode: 2 });
  `;
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
}

describe('errors for the user', () => {
  it('are UsageErrors, configuration errors and the argument parser complaints; nothing else', () => {
    assert.equal(isUsageError(new UsageError('--rate must be a number')), true);
    assert.equal(isUsageError(ConfigError.of(['PORT: must be a port number'])), true);
    assert.equal(isUsageError(Object.assign(new TypeError("Unknown option '--nope'"), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' })), true);
    assert.equal(isUsageError(new TypeError('cannot read properties of undefined')), false);
    assert.equal(isUsageError(undefined), false);
  });

  it('are printed as they are, with the usage, and exit with the usage code; a bug prints its stack and exits 1', () => {
    const usage = command("new UsageError('--rate must be a number')");
    assert.equal(usage.status, 2);
    assert.equal(usage.stderr, 'demo: --rate must be a number\n\nUsage: demo [--flag]\n');
    const bug = command("new TypeError('cannot read properties of undefined')");
    assert.equal(bug.status, 1);
    assert.match(bug.stderr, /^demo: failed: TypeError: cannot read properties of undefined\n {4}at /);
  });
});
