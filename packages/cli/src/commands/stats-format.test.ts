import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { W1, W2 } from '../testing/admin-fixtures.js';
import { formatStats, formatWatchHeading } from './stats-format.js';

/** The table as label → [TOTAL, w1, w2], the label with its indentation. */
function cells(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of text.trimEnd().split('\n').slice(1)) {
    const [, label = '', values] = /^( *\S+(?: \S+)*)(?: {2,}(.*))?$/.exec(line) ?? [];
    rows.set(label, values === undefined ? [] : values.split(/ {2,}/));
  }
  return rows;
}

describe('formatStats', () => {
  const text = formatStats([W2, W1]);
  const rows = cells(text);

  it('has a column for the total and one per worker, by id', () => {
    assert.deepEqual(text.split('\n')[0]?.split(/\s+/), ['METRIC', 'TOTAL', 'w1', 'w2']);
  });

  it('shows each worker\'s state and uptime, the cluster\'s calls per second, started and active calls by state', () => {
    assert.deepEqual(rows.get('state'), ['active', 'draining']);
    assert.deepEqual(rows.get('uptime'), ['1h02m03s', '42s']);
    assert.deepEqual(rows.get('calls/s'), ['0.35', '0.25', '0.1']);
    assert.deepEqual(rows.get('calls started'), ['21', '15', '6']);
    assert.deepEqual(rows.get('calls active'), ['3', '2', '1']);
    const states = [...rows.keys()].filter((k) => /^ {2}[a-z]/.test(k)).slice(0, 3);
    assert.deepEqual(states, ['  early', '  answered', '  confirmed'], 'in the order a call goes through them');
    assert.deepEqual(rows.get('  early'), ['1', '1', '0']);
  });

  it('counts responses by class, 400, 403 and 503 under theirs, and 0 for a counter never touched', () => {
    assert.deepEqual(rows.get('responses sent'), [], 'a heading without values');
    assert.deepEqual(rows.get('  2xx'), ['16', '12', '4']);
    assert.deepEqual(rows.get('  3xx'), ['0', '0', '0']);
    assert.deepEqual(rows.get('    400'), ['1', '1', '0']);
    assert.deepEqual(rows.get('    403'), ['2', '2', '0']);
    assert.deepEqual(rows.get('    503'), ['1', '0', '1']);
    const order = [...rows.keys()];
    assert.ok(order.indexOf('    403') < order.indexOf('  5xx') && order.indexOf('  4xx') < order.indexOf('    400'));
  });

  it('counts refusals by cause and transfers by kind', () => {
    assert.deepEqual(rows.get('refused'), ['3', '2', '1']);
    assert.deepEqual(rows.get('  destination-blocked'), ['2', '2', '0']);
    assert.deepEqual(rows.get('  unknown-source'), ['1', '0', '1']);
    assert.deepEqual(rows.get('transfers started'), ['3', '3', '0']);
    assert.deepEqual(rows.get('transfers answered'), ['1', '1', '0']);
    assert.match(text, /^transfers started +3 +3 +0\n {2}pstn +2 +2 +0\n {2}sip +1 +1 +0\ntransfers answered +1 +1 +0\n {2}pstn +1 +1 +0\n {2}sip +0 +0 +0$/m);
  });

  it('ends with the active calls of each trunk', () => {
    assert.match(text, /^active calls by trunk\n {2}acme +2 +2 +0\n {2}globex +1 +0 +1\n$/m);
  });

  it('keeps the numbers aligned to the right of their column', () => {
    const lines = text.trimEnd().split('\n');
    const end = lines[0]?.length;
    for (const line of lines.filter((l) => /\d$/.test(l))) assert.equal(line.length, end, line);
  });
});

describe('formatWatchHeading', () => {
  it('says when and how often, and how to stop', () => {
    const now = new Date(2025, 0, 31, 14, 5, 9).getTime();
    assert.equal(formatWatchHeading(now, 2000), '2025-01-31T14:05:09  every 2s, Ctrl-C to stop\n\n');
    assert.equal(formatWatchHeading(now, 500), '2025-01-31T14:05:09  every 500ms, Ctrl-C to stop\n\n');
  });
});
