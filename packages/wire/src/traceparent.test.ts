import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTraceparent, newTraceparent, parseTraceparent } from './traceparent.js';

// the example of https://www.w3.org/TR/trace-context/#examples-of-http-traceparent-headers
const EXAMPLE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('traceparent', () => {
  test('parses the W3C example', () => {
    assert.deepEqual(parseTraceparent(EXAMPLE), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 });
  });

  test('parse and format round trip', () => {
    for (const value of [EXAMPLE, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-ff']) {
      const parsed = parseTraceparent(value);
      assert.ok(parsed !== undefined, value);
      assert.equal(formatTraceparent(parsed), value);
    }
    assert.equal(formatTraceparent({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), flags: 3 }), `00-${'a'.repeat(32)}-${'b'.repeat(16)}-03`);
  });

  test('invalid values are undefined', () => {
    const invalid = [
      undefined,
      '',
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, // all-zero trace id
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`, // all-zero span id
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // another version
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', // upper case
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', // short trace id
      '00-4bf92f3577b34da6a3ce929d0e0e47361-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01', // short span id
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1',
      `${EXAMPLE}-extra`,
      ` ${EXAMPLE}`,
      '00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01',
      '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01',
    ];
    for (const value of invalid) assert.equal(parseTraceparent(value), undefined, JSON.stringify(value));
  });

  test('newTraceparent() starts a sampled root that parses', () => {
    const a = parseTraceparent(newTraceparent());
    const b = parseTraceparent(newTraceparent());
    assert.ok(a !== undefined && b !== undefined);
    assert.equal(a.flags, 1);
    assert.notEqual(a.traceId, b.traceId);
  });

  test('newTraceparent(parent) keeps the trace id and flags with a new span id', () => {
    const parent = parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00');
    assert.ok(parent !== undefined);
    const child = parseTraceparent(newTraceparent(parent));
    assert.ok(child !== undefined);
    assert.equal(child.traceId, parent.traceId);
    assert.equal(child.flags, 0);
    assert.notEqual(child.spanId, parent.spanId);
    assert.match(child.spanId, /^[0-9a-f]{16}$/);
  });
});
