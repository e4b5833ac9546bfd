import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAuthenticatedSource, decodeEdgeSources, encodeAuthenticatedSource, encodeEdgeSources } from './edge-sources.js';
import { encodeMap, EnvelopeError } from './envelopes.js';

describe('edge sources envelopes', () => {
  test('the known networks go round', () => {
    const sent = { v: 1 as const, networks: ['192.0.2.0/24', '2001:db8::1'], domains: ['pbx.example.com'], revision: 7, worker: 'w1' };
    assert.deepEqual(decodeEdgeSources(encodeEdgeSources(sent)), sent);
  });

  test('an authenticated source goes round', () => {
    assert.deepEqual(decodeAuthenticatedSource(encodeAuthenticatedSource({ v: 1, address: '198.51.100.7', until: 1_000 })), { v: 1, address: '198.51.100.7', until: 1_000 });
  });

  test('a wrong field, a list of other things or an unknown version is refused', () => {
    const bad: [unknown, string][] = [
      [{ v: 1, networks: '192.0.2.0/24', domains: [], revision: 1, worker: 'w1' }, 'missing-field'],
      [{ v: 1, networks: [], revision: 1, worker: 'w1' }, 'missing-field'],
      [{ v: 1, networks: [1, 2], domains: [], revision: 1, worker: 'w1' }, 'missing-field'],
      [{ v: 1, networks: [], domains: [], worker: 'w1' }, 'missing-field'],
      [{ v: 2, networks: [], domains: [], revision: 1, worker: 'w1' }, 'unknown-version'],
    ];
    for (const [value, code] of bad) {
      assert.throws(() => decodeEdgeSources(encodeMap(value)), (e: unknown) => e instanceof EnvelopeError && e.code === code);
    }
    assert.throws(() => decodeAuthenticatedSource(encodeMap({ v: 1, address: '', until: 1 })), EnvelopeError);
    assert.throws(() => decodeAuthenticatedSource(encodeMap({ v: 1, address: '192.0.2.1', until: 'later' })), EnvelopeError);
  });

  test('extra fields are not carried over', () => {
    const decoded = decodeAuthenticatedSource(encodeMap({ v: 1, address: '192.0.2.1', until: 5, admin: true }));
    assert.deepEqual(Object.keys(decoded).sort(), ['address', 'until', 'v']);
  });
});
