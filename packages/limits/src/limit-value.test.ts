import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeLimitValue, encodeLimitValue, LimitValueError, type LimitValue } from './limit-value.js';

const text = (s: string) => new TextEncoder().encode(s);

describe('limit value', () => {
  test('is the short JSON an operator reads with nats kv get', () => {
    const value: LimitValue = { w: { 'worker-1': { c: 3, l: 1700000015000 } }, b: { t: 7.5, at: 1700000000000 } };
    assert.equal(new TextDecoder().decode(encodeLimitValue(value)), '{"w":{"worker-1":{"c":3,"l":1700000015000}},"b":{"t":7.5,"at":1700000000000}}');
    assert.deepEqual(decodeLimitValue(encodeLimitValue(value)), value);
  });

  test('a value without a bucket decodes without one', () => {
    assert.deepEqual(decodeLimitValue(text('{"w":{}}')), { w: {} });
  });

  test('a worker named __proto__ stays an ordinary worker', () => {
    const value = decodeLimitValue(text('{"w":{"__proto__":{"c":1,"l":5}}}'));
    assert.deepEqual(Object.keys(value.w), ['__proto__']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(value.w, '__proto__')?.value, { c: 1, l: 5 });
  });

  test('anything else is a LimitValueError', () => {
    for (const bad of ['nope', '[]', 'null', '{}', '{"w":[]}', '{"w":{"a":{"c":-1,"l":1}}}', '{"w":{"a":{"c":1}}}',
      '{"w":{"a":null}}', '{"w":{},"b":{"t":"1","at":1}}', '{"w":{},"b":null}']) {
      assert.throws(() => decodeLimitValue(text(bad)), (err: unknown) => err instanceof LimitValueError && err.code === 'malformed-limit-value', bad);
    }
  });
});
