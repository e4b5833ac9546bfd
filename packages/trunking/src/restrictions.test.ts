// Unit tests of destination restrictions: blocked prefixes, then the allow list.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDestination } from './restrictions.js';
import type { TrunkConfig } from './trunk-config.js';

type Restrictions = TrunkConfig['restrictions'];

const restrictions = (r: Partial<Restrictions>): Restrictions => ({ allowedPrefixes: [], blocked: [], maxCallSeconds: 0, ...r });

describe('checkDestination', () => {
  it('allows everything when nothing is blocked and the allow list is empty', () => {
    const r = restrictions({});
    assert.deepEqual(checkDestination('+14155550100', r), { allowed: true });
    assert.deepEqual(checkDestination('+442079460000', r), { allowed: true });
    assert.deepEqual(checkDestination('+881612345678', r), { allowed: true });
  });

  it('refuses a blocked prefix with 403 Destination Blocked, naming the rule', () => {
    const r = restrictions({ blocked: [{ prefix: '1900', name: 'premium-rate' }] });
    assert.deepEqual(checkDestination('+19005550100', r), { allowed: false, status: 403, reason: 'Destination Blocked', rule: 'premium-rate' });
    assert.deepEqual(checkDestination('+14155550100', r), { allowed: true });
  });

  it('reads blocked prefixes with and without +', () => {
    const r = restrictions({ blocked: [{ prefix: '+881', name: 'satellite' }] });
    assert.deepEqual(checkDestination('+881612345678', r), { allowed: false, status: 403, reason: 'Destination Blocked', rule: 'satellite' });
  });

  it('blocked beats allowed', () => {
    const r = restrictions({ allowedPrefixes: ['1'], blocked: [{ prefix: '1900', name: 'premium-rate' }] });
    assert.deepEqual(checkDestination('+19005550100', r), { allowed: false, status: 403, reason: 'Destination Blocked', rule: 'premium-rate' });
    assert.deepEqual(checkDestination('+14155550100', r), { allowed: true });
  });

  it('names the most specific blocked rule that matches', () => {
    const r = restrictions({
      blocked: [
        { prefix: '44', name: 'uk' },
        { prefix: '4470', name: 'uk-personal' },
        { prefix: '447', name: 'uk-mobile' },
      ],
    });
    const rule = (n: string) => { const v = checkDestination(n, r); return v.allowed ? undefined : v.rule; };
    assert.equal(rule('+447012345678'), 'uk-personal');
    assert.equal(rule('+447700900123'), 'uk-mobile');
    assert.equal(rule('+442079460000'), 'uk');
  });

  it('measures blocked prefixes without their +', () => {
    const r = restrictions({ blocked: [{ prefix: '4470', name: 'four-digits' }, { prefix: '+447', name: 'three-digits' }] });
    const v = checkDestination('+447012345678', r);
    assert.equal(v.allowed ? undefined : v.rule, 'four-digits');
  });

  it('names the first written among equally specific blocked rules', () => {
    const r = restrictions({ blocked: [{ prefix: '447', name: 'first' }, { prefix: '+447', name: 'second' }] });
    const v = checkDestination('+447700900123', r);
    assert.equal(v.allowed ? undefined : v.rule, 'first');
  });

  it('an empty blocked prefix blocks every destination', () => {
    const r = restrictions({ blocked: [{ prefix: '', name: 'suspended' }] });
    assert.deepEqual(checkDestination('+14155550100', r), { allowed: false, status: 403, reason: 'Destination Blocked', rule: 'suspended' });
  });

  it('refuses what a non-empty allow list does not contain with 403 Destination Not Allowed', () => {
    const r = restrictions({ allowedPrefixes: ['1', '+44'] });
    assert.deepEqual(checkDestination('+33142685300', r), { allowed: false, status: 403, reason: 'Destination Not Allowed', rule: 'allowed-prefixes' });
    assert.deepEqual(checkDestination('+14155550100', r), { allowed: true });
    assert.deepEqual(checkDestination('+442079460000', r), { allowed: true });
  });

  it('an allow list entry must be a prefix of the number, not a part of it', () => {
    const r = restrictions({ allowedPrefixes: ['1415'] });
    assert.equal(checkDestination('+12125550123', r).allowed, false);
    assert.equal(checkDestination('+14155550100', r).allowed, true);
  });

  it('ignores the call limits', () => {
    const r = restrictions({ maxConcurrent: 1, maxCps: 1 });
    assert.deepEqual(checkDestination('+14155550100', r), { allowed: true });
  });
});
