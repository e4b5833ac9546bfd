import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Admission } from './call-limiter.js';
import { LocalCallLimiter } from './local-call-limiter.js';

const admittedCount = (admissions: Admission[]) => admissions.filter((a) => a.admitted).length;

describe('LocalCallLimiter', () => {
  test('a request without limits is admitted', async () => {
    const limiter = new LocalCallLimiter();
    const admission = await limiter.admit({ key: 'trunk.acme' });
    assert.equal(admission.admitted, true);
    assert.equal(limiter.held().size, 0);
  });

  test('concurrency: refuses past the maximum; release frees a slot once, however often it is called', async () => {
    const limiter = new LocalCallLimiter();
    const request = { key: 'trunk.acme', maxConcurrent: 2 };
    const first = await limiter.admit(request);
    const second = await limiter.admit(request);
    assert.deepEqual(await limiter.admit(request), { admitted: false, limit: 'concurrency', key: 'trunk.acme' });
    assert.deepEqual([...limiter.held()], [['trunk.acme', 2]]);
    assert.ok(first.admitted && second.admitted);
    first.release();
    first.release();
    assert.deepEqual([...limiter.held()], [['trunk.acme', 1]]);
    assert.equal((await limiter.admit(request)).admitted, true);
    assert.equal((await limiter.admit(request)).admitted, false);
  });

  test('a hold handed over as data is given back by the limiter once: by release(hold), by the admission, or both', async () => {
    const limiter = new LocalCallLimiter();
    const request = { key: 'trunk.acme', maxConcurrent: 2 };
    const first = await limiter.admit(request);
    const second = await limiter.admit(request);
    assert.ok(first.admitted && second.admitted);
    assert.deepEqual(first.hold.key, 'trunk.acme');
    assert.notEqual(first.hold.id, second.hold.id);
    const handedOver = structuredClone(first.hold); // plain data: what crosses an actor's mailbox
    limiter.release(handedOver);
    limiter.release(handedOver);
    first.release();
    assert.deepEqual([...limiter.held()], [['trunk.acme', 1]]);
    second.release();
    limiter.release(second.hold);
    assert.equal(limiter.held().size, 0);
    const unlimited = await limiter.admit({ key: 'trunk.acme' });
    assert.ok(unlimited.admitted);
    limiter.release(unlimited.hold); // holds nothing: nothing happens
    assert.equal(limiter.held().size, 0);
  });

  test('keys are independent', async () => {
    const limiter = new LocalCallLimiter();
    assert.equal((await limiter.admit({ key: 'trunk.a', maxConcurrent: 1 })).admitted, true);
    assert.equal((await limiter.admit({ key: 'carrier.a', maxConcurrent: 1 })).admitted, true);
    assert.equal((await limiter.admit({ key: 'trunk.a', maxConcurrent: 1 })).admitted, false);
  });

  test('rate: maxPerSecond at once, then refills with the clock', async () => {
    let now = 1_000_000;
    const limiter = new LocalCallLimiter({ now: () => now });
    const burst = () => Promise.all(Array.from({ length: 8 }, () => limiter.admit({ key: 'carrier.x', maxPerSecond: 5 })));
    const first = await burst();
    assert.equal(admittedCount(first), 5);
    assert.deepEqual(first[5], { admitted: false, limit: 'rate', key: 'carrier.x' });
    now += 400;
    assert.equal(admittedCount(await burst()), 2);
    now += 10_000;
    assert.equal(admittedCount(await burst()), 5);
    assert.equal(limiter.held().size, 0, 'rate-only admissions hold no slot');
  });

  test('malformed requests are refused as unavailable', async () => {
    const limiter = new LocalCallLimiter();
    for (const request of [{ key: 'trunk.*', maxConcurrent: 1 }, { key: 'trunk.a', maxConcurrent: 1.5 }, { key: 'trunk.a', maxPerSecond: -1 }]) {
      assert.deepEqual(await limiter.admit(request), { admitted: false, limit: 'unavailable', key: request.key });
    }
  });

  test('after close nothing is admitted and held() is empty', async () => {
    const limiter = new LocalCallLimiter();
    const admission = await limiter.admit({ key: 'trunk.a', maxConcurrent: 3 });
    await limiter.close();
    assert.equal(limiter.held().size, 0);
    assert.ok(admission.admitted);
    admission.release();
    assert.equal((await limiter.admit({ key: 'trunk.a', maxConcurrent: 3 })).admitted, false);
  });

  test('adopt: a hold from another worker counts here without a limit check; released once', async () => {
    const limiter = new LocalCallLimiter();
    const request = { key: 'trunk.acme', maxConcurrent: 1 };
    assert.equal((await limiter.admit(request)).admitted, true);
    const hold = limiter.adopt({ key: 'trunk.acme', id: 41 });
    assert.deepEqual([...limiter.held()], [['trunk.acme', 2]]);
    limiter.release(hold);
    limiter.release(hold);
    assert.deepEqual([...limiter.held()], [['trunk.acme', 1]]);
    assert.deepEqual(limiter.adopt({ key: '', id: 0 }), { key: '', id: 0 });
  });
});
