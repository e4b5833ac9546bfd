import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busiestWindow } from './busiest-window.js';

test('busiestWindow: the most events in any sliding window, whatever their order', () => {
  assert.equal(busiestWindow([]), 0);
  assert.equal(busiestWindow([5]), 1);
  // 3 within 1 s across a whole-second boundary (900, 1100, 1800), never 4
  assert.equal(busiestWindow([1800, 100, 1100, 900, 2950]), 3);
  // an event exactly windowMs after another is outside its window
  assert.equal(busiestWindow([0, 1000, 2000]), 1);
  assert.equal(busiestWindow([0, 10, 20, 30], 15), 2);
});
