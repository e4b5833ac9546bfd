import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TEST_TRUNKING } from '../testing/harness.js';
import { validateTrunking } from './live-trunking.js';

const withTrunk = (fields: Record<string, unknown>) => ({ ...TEST_TRUNKING, trunks: [{ ...TEST_TRUNKING.trunks[0], ...fields }] });

describe('validateTrunking (live configuration writes)', () => {
  it('accepts what the file accepts', () => {
    assert.equal(validateTrunking(TEST_TRUNKING).ok, true);
  });

  it('names the field of a schema error', () => {
    const r = validateTrunking(withTrunk({ routing: [{ prefix: 'abc', carriers: ['carrierB'] }] }));
    assert.deepEqual(r, { ok: false, message: 'trunks[0].routing[0].prefix: expected digits' });
  });

  it('refuses a field the schema does not know, at any depth, rather than dropping it', () => {
    assert.deepEqual(validateTrunking(withTrunk({ restrictions: { maxCPS: 10 } })), { ok: false, message: 'trunks[0].restrictions.maxCPS: unknown field' });
    assert.deepEqual(validateTrunking({ ...TEST_TRUNKING, trunk: [] }), { ok: false, message: 'trunk: unknown field' });
  });
});
