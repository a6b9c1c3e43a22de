import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Closer } from '../src/closer';

describe('Closer', () => {
  it('closes newest first, each once however often it is asked', async () => {
    const closed: string[] = [];
    const closer = new Closer();
    const pool = closer.add('pool', { name: 'pool' }, (resource) => void closed.push(resource.name));
    closer.add('server', 'server', async (resource) => {
      await new Promise((resolve) => setImmediate(resolve));
      closed.push(resource);
    });
    assert.deepEqual(pool, { name: 'pool' }, 'add returns what it registers');
    await Promise.all([closer.close(), closer.close()]);
    await closer.close();
    assert.deepEqual(closed, ['server', 'pool']);
  });

  it('closes the rest when one fails, then rejects naming it', async () => {
    const closed: string[] = [];
    const closer = new Closer();
    closer.add('telemetry', 'telemetry', (name) => void closed.push(name));
    closer.add('pool', 'pool', () => {
      throw new Error('connection reset');
    });
    closer.add('server', 'server', (name) => void closed.push(name));
    await assert.rejects(closer.close(), /closing pool failed: Error: connection reset/);
    assert.deepEqual(closed, ['server', 'telemetry']);
  });

  it('refuses what is opened once closing has begun: it would never be closed', async () => {
    const closer = new Closer();
    await closer.close();
    assert.throws(() => closer.add('late', 1, () => undefined), /late opened while closing/);
  });
});
