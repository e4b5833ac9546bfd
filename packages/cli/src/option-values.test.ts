import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration as cdrParseDuration } from '@switchboard/cdr';
import { InvalidArgumentError } from 'commander';
import { integerIn, parseDuration, parseInterval, parseServers, parseTimeoutMs, parseTimeSpec, parseWorkerId, resolveTimeSpec } from './option-values.js';

describe('parseDuration', () => {
  it("reads durations as @switchboard/cdr's does (the CDR query's grammar, kept apart so that every command does not load it)", () => {
    for (const text of ['90s', '15m', '1h', '7d', '500ms', ' 2 s ', '0s', '1w', '1.5h', '-1h', 'h', '', '10', 'ms', '1H', '3sm']) {
      assert.equal(parseDuration(text), cdrParseDuration(text), JSON.stringify(text));
    }
    assert.equal(parseDuration('2 s'), 2_000);
  });
});

describe('parseTimeSpec', () => {
  it('reads a duration as that long ago', () => {
    assert.deepEqual(parseTimeSpec('1h'), { kind: 'ago', ms: 3_600_000 });
    assert.equal(resolveTimeSpec(parseTimeSpec('90s'), 1_000_000), 910_000);
    assert.equal(resolveTimeSpec(parseTimeSpec('7d'), 5), 0);
  });

  it('reads a time as local unless it carries an offset, a date alone as local midnight', () => {
    assert.deepEqual(parseTimeSpec('2025-01-31T14:05'), { kind: 'at', ms: new Date(2025, 0, 31, 14, 5).getTime() });
    assert.deepEqual(parseTimeSpec('2025-01-31 14:05:09'), { kind: 'at', ms: new Date(2025, 0, 31, 14, 5, 9).getTime() });
    assert.deepEqual(parseTimeSpec('2025-01-31'), { kind: 'at', ms: new Date(2025, 0, 31).getTime() });
    assert.deepEqual(parseTimeSpec('2025-01-31T14:05:09.120Z'), { kind: 'at', ms: Date.UTC(2025, 0, 31, 14, 5, 9, 120) });
    assert.deepEqual(parseTimeSpec('2025-01-31T14:05+01:00'), { kind: 'at', ms: Date.UTC(2025, 0, 31, 13, 5) });
  });

  it('refuses anything else, saying what it expects', () => {
    for (const text of ['2x', '', 'yesterday', '1', '2025-13-45', '-1h', '1.5h']) {
      assert.throws(() => parseTimeSpec(text), (e: unknown) => e instanceof InvalidArgumentError && /duration ago/.test(e.message), text);
    }
  });
});

describe('parseTimeoutMs', () => {
  it('takes milliseconds or a duration within 10 minutes', () => {
    assert.equal(parseTimeoutMs('2500'), 2500);
    assert.equal(parseTimeoutMs('5s'), 5000);
    for (const text of ['0', 'x', '11m', '-5']) assert.throws(() => parseTimeoutMs(text), InvalidArgumentError, text);
  });
});

describe('integerIn', () => {
  it('takes whole numbers within its bounds only', () => {
    const limit = integerIn(1, 1000);
    assert.equal(limit('1000'), 1000);
    for (const text of ['0', '1001', '1.5', 'ten', '', '1e3']) assert.throws(() => limit(text), /from 1 to 1000/, text);
  });
});

describe('parseServers', () => {
  it('takes one NATS URL or several separated by commas', () => {
    assert.deepEqual(parseServers('nats://a:4222'), ['nats://a:4222']);
    assert.deepEqual(parseServers(' nats://a:4222, b:4222 ,,tls://c'), ['nats://a:4222', 'b:4222', 'tls://c']);
  });

  it('refuses what is not one', () => {
    for (const text of ['', ' , ', 'http://a:80', 'nats://']) assert.throws(() => parseServers(text), InvalidArgumentError, text);
  });
});

describe('parseInterval', () => {
  it('takes seconds or a duration from 200 ms to an hour', () => {
    assert.equal(parseInterval('2'), 2000);
    assert.equal(parseInterval('0.5'), 500);
    assert.equal(parseInterval('500ms'), 500);
    assert.equal(parseInterval('1m'), 60_000);
    for (const text of ['0', '0.1', '100ms', '2h', 'fast', '-1', '']) assert.throws(() => parseInterval(text), InvalidArgumentError, text);
  });
});

describe('parseWorkerId', () => {
  it('takes what the subjects take: 1 to 32 letters or digits', () => {
    assert.equal(parseWorkerId('w1'), 'w1');
    for (const text of ['', 'w.1', 'w-1', 'x'.repeat(33), 'w>']) assert.throws(() => parseWorkerId(text), InvalidArgumentError, text);
  });
});
