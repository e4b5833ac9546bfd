import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoadThreshold } from './event-loop-load.js';

describe('LoadThreshold', () => {
  it('turns busy once the smoothed load passes the line, and clear only well below it', () => {
    const t = new LoadThreshold(0.8);
    assert.equal(t.update(0.95), false, 'one busy sample is not a busy process (smoothed 0.475)');
    assert.equal(t.update(0.95), false, 'smoothed 0.71');
    assert.equal(t.update(0.95), true, 'smoothed 0.83');
    assert.equal(t.update(0.7), true, 'smoothed 0.77: above 0.7, still busy');
    assert.equal(t.update(0.5), false, 'smoothed 0.63: clear');
    assert.equal(t.update(0.79), false, 'smoothed 0.71: below the line, clear');
    assert.equal(t.isBusy, false);
  });

  it('0 is always busy and 1 never, whatever the load', () => {
    const always = new LoadThreshold(0);
    const never = new LoadThreshold(1);
    assert.equal(always.isBusy, true, 'before any sample');
    for (const sample of [0, 0.5, 1, 1, 1]) {
      assert.equal(always.update(sample), true);
      assert.equal(never.update(sample), false);
    }
  });
});
