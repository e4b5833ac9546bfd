import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TEST_TRUNKING } from '../testing/harness.js';
import { DigestAuthenticator, TrunkingConfigSchema, TrunkPolicy } from '@switchboard/trunking';
import { LiveTrunkingHolder, validateTrunking } from './live-trunking.js';

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

describe('LiveTrunkingHolder (the trunking in force)', () => {
  it('replaces policy and locator together; what a call read before stays as it was', () => {
    const made: unknown[] = [];
    const holder = new LiveTrunkingHolder((config) => {
      made.push(config);
      return { policy: new TrunkPolicy(config, new DigestAuthenticator({ secret: 'live-trunking-test-secret' })), locator: { locate: async () => [] } };
    }, TrunkingConfigSchema.parse(TEST_TRUNKING));
    const atStart = holder.current;
    assert.equal(atStart.policy.knowsSource('127.0.0.1'), true);
    holder.apply(TrunkingConfigSchema.parse(withTrunk({ acl: ['192.0.2.0/24'] })));
    assert.notEqual(holder.current, atStart);
    assert.notEqual(holder.current.locator, atStart.locator);
    assert.equal(holder.current.policy.knowsSource('127.0.0.1'), false, 'new calls see the new configuration');
    assert.equal(atStart.policy.knowsSource('127.0.0.1'), true, 'a call that started before keeps its own');
    assert.equal(made.length, 2);
  });
});
