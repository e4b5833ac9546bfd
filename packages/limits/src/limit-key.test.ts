import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isValidLimitKey, limitKey } from './limit-key.js';

describe('limit keys', () => {
  test('plain ids are kept as they are', () => {
    assert.equal(limitKey('trunk', 'acme'), 'trunk.acme');
    assert.equal(limitKey('carrier', 'carrier_A-2'), 'carrier.carrier_A-2');
  });

  test('other characters are escaped, so distinct ids never share a key', () => {
    const ids = ['a.b', 'a b', 'a_b', 'a=2Eb', 'a*', 'a>', '', '=', 'ü'];
    const keys = ids.map((id) => limitKey('trunk', id));
    assert.equal(new Set(keys).size, ids.length);
    for (const key of keys) assert.ok(isValidLimitKey(key), key);
    assert.equal(limitKey('trunk', 'a.b'), 'trunk.a=2Eb');
    assert.equal(limitKey('trunk', 'ü'), 'trunk.=C3=BC');
  });

  test('valid keys are dot-separated non-empty tokens without wildcards', () => {
    for (const key of ['trunk.acme', 'a', 'x/y=z.w-1']) assert.ok(isValidLimitKey(key), key);
    for (const key of ['', '.a', 'a.', 'a..b', 'a b', 'trunk.*', 'trunk.>', 'ä', 'a\n']) assert.ok(!isValidLimitKey(key), JSON.stringify(key));
  });
});
