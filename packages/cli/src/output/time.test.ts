import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatClockTime, formatDuration, formatLocalIso, formatLocalTime } from './time.js';

describe('formatDuration', () => {
  it('writes whole seconds as h, m and s', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(5.4), '5s');
    assert.equal(formatDuration(59.6), '1m00s');
    assert.equal(formatDuration(65), '1m05s');
    assert.equal(formatDuration(3600), '1h00m00s');
    assert.equal(formatDuration(7387), '2h03m07s');
    assert.equal(formatDuration(-1), '-');
  });
});

describe('local times', () => {
  it('prints the local wall clock, without and with its offset', () => {
    const ms = new Date(2025, 0, 31, 14, 5, 9, 120).getTime();
    assert.equal(formatLocalTime(ms), '2025-01-31T14:05:09');
    assert.match(formatLocalIso(ms), /^2025-01-31T14:05:09\.120[+-]\d{2}:\d{2}$/);
    assert.equal(Date.parse(formatLocalIso(ms)), ms);
  });

  it('prints a moment of today as the time of day, of another day in full', () => {
    const now = new Date(2025, 0, 31, 14, 5, 9).getTime();
    assert.equal(formatClockTime(new Date(2025, 0, 31, 0, 0, 1).getTime(), now), '00:00:01');
    assert.equal(formatClockTime(new Date(2025, 0, 30, 23, 59, 59).getTime(), now), '2025-01-30T23:59:59');
  });
});
