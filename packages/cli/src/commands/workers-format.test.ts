import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { W1, W2 } from '../testing/admin-fixtures.js';
import { formatDrain, formatRate, formatWorkerStatsJson, formatWorkerTable } from './workers-format.js';

describe('formatWorkerTable', () => {
  it('prints a row per worker by id, one that did not answer as such', () => {
    const lines = formatWorkerTable([
      { worker: 'w3', ok: false, code: 503, message: 'no answer' },
      { worker: 'w2', ok: true, value: W2 },
      { worker: 'w1', ok: true, value: W1 },
    ]).trimEnd().split('\n');
    assert.deepEqual(lines[0]?.split(/\s+/), ['ID', 'STATE', 'CALLS', 'UPTIME', 'VERSION', 'CPS']);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s{2,}/)), [
      ['w1', 'active', '2', '1h02m03s', '0.1.0', '0.25'],
      ['w2', 'draining', '1', '42s', '0.1.0', '0.1'],
      ['w3', 'no answer', '-', '-', '-', '-'],
    ]);
  });
});

describe('formatWorkerStatsJson', () => {
  it('is the stats as sent, by worker id', () => {
    assert.deepEqual(JSON.parse(formatWorkerStatsJson([W2, W1])), [W1, W2]);
  });
});

describe('formatDrain', () => {
  it('says the worker takes no new calls', () => {
    assert.equal(formatDrain('w1', { state: 'draining' }), 'worker w1: draining (no new calls; its calls in progress continue)\n');
  });
});

describe('formatRate', () => {
  it('keeps two decimals at most, without trailing zeros', () => {
    assert.deepEqual([0, 0.25, 3, 12.5, 1 / 3, Number.NaN].map(formatRate), ['0', '0.25', '3', '12.5', '0.33', '-']);
  });
});
