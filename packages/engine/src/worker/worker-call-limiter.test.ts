import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalCallLimiter } from '@switchboard/limits';
import { WorkerCallLimiter } from './worker-call-limiter.js';

describe('WorkerCallLimiter (the limiter opened in start())', () => {
  it('refuses as unavailable until it is set (limits fail closed), then is the limiter it was given', async () => {
    const limiter = new WorkerCallLimiter();
    assert.deepEqual(await limiter.admit({ key: 'trunk.acme', maxConcurrent: 1 }), { admitted: false, limit: 'unavailable', key: 'trunk.acme' });
    assert.equal(limiter.held().size, 0);
    await limiter.close();
    limiter.use(new LocalCallLimiter());
    const first = await limiter.admit({ key: 'trunk.acme', maxConcurrent: 1 });
    assert.equal(first.admitted, true);
    assert.deepEqual([...limiter.held()], [['trunk.acme', 1]]);
    assert.equal((await limiter.admit({ key: 'trunk.acme', maxConcurrent: 1 })).admitted, false, 'the limit of the limiter it was given');
  });

  it('is set once', () => {
    const limiter = new WorkerCallLimiter();
    limiter.use(new LocalCallLimiter());
    assert.throws(() => limiter.use(new LocalCallLimiter()), /set once/);
  });
});
