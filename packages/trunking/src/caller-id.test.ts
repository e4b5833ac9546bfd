// Unit tests of caller-ID policy: which numbers a customer may present (From, P-Asserted-Identity).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCallerId, type PresentedIdentity } from './caller-id.js';
import type { TrunkConfig } from './trunk-config.js';

type Trunk = Pick<TrunkConfig, 'dids' | 'callerId' | 'numberPlan'>;

const NANP = { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' };

const trunk = (callerId: Partial<Trunk['callerId']> = {}): Trunk => ({
  dids: ['+14155550100', '+14155550101'],
  callerId: { allowed: ['1415555'], onViolation: 'reject', ...callerId },
  numberPlan: NANP,
});

const replacing = trunk({ onViolation: 'replace', default: '+14155550100' });

const presented = (p: Partial<PresentedIdentity>): PresentedIdentity => ({ fromUser: undefined, assertedUser: undefined, privacy: false, ...p });

const REFUSED = (shown: string) => ({ ok: false, status: 403, reason: 'Caller ID Not Allowed', presented: shown });

describe('checkCallerId', () => {
  describe('From only', () => {
    it('accepts one of the trunk’s DIDs', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: '+14155550101' }), trunk()), { ok: true, number: '+14155550101', anonymous: false, replaced: false });
    });
    it('accepts a number under an allowed prefix', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: '+14155550177' }), trunk()), { ok: true, number: '+14155550177', anonymous: false, replaced: false });
    });
    it('reads allowed prefixes with a + too', () => {
      const t = trunk({ allowed: ['+4420'] });
      assert.deepEqual(checkCallerId(presented({ fromUser: '+442079460000' }), t), { ok: true, number: '+442079460000', anonymous: false, replaced: false });
    });
    it('refuses any other number with 403 Caller ID Not Allowed', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: '+12125550123' }), trunk()), REFUSED('+12125550123'));
    });
    it('refuses a number that is not a number, naming it as presented', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: 'alice' }), trunk()), REFUSED('alice'));
    });
    it('refuses an INVITE that presents nothing', () => {
      assert.deepEqual(checkCallerId(presented({}), trunk()), REFUSED(''));
    });
    it('normalises a national-format From under the trunk’s plan', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: '4155550100' }), trunk()), { ok: true, number: '+14155550100', anonymous: false, replaced: false });
      assert.deepEqual(checkCallerId(presented({ fromUser: '14155550100' }), trunk()), { ok: true, number: '+14155550100', anonymous: false, replaced: false });
      assert.deepEqual(checkCallerId(presented({ fromUser: '(415) 555-0177' }), trunk()), { ok: true, number: '+14155550177', anonymous: false, replaced: false });
    });
    it('normalises under the trunk’s own plan (UK)', () => {
      const uk: Trunk = { dids: ['+442079460000'], callerId: { allowed: [], onViolation: 'reject' }, numberPlan: { countryCode: '44', nationalPrefix: '0', internationalPrefix: '00' } };
      assert.deepEqual(checkCallerId(presented({ fromUser: '02079460000' }), uk), { ok: true, number: '+442079460000', anonymous: false, replaced: false });
      assert.deepEqual(checkCallerId(presented({ fromUser: '02079460001' }), uk), REFUSED('02079460001'));
    });
  });

  describe('replace on violation', () => {
    it('presents the default number instead, saying so', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: '+12125550123' }), replacing), { ok: true, number: '+14155550100', anonymous: false, replaced: true });
    });
    it('replaces a number that is not a number', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: 'alice' }), replacing), { ok: true, number: '+14155550100', anonymous: false, replaced: true });
    });
    it('does not replace an allowed number', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: '+14155550101' }), replacing), { ok: true, number: '+14155550101', anonymous: false, replaced: false });
    });
    it('refuses when there is no default to present', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: '+12125550123' }), trunk({ onViolation: 'replace' })), REFUSED('+12125550123'));
    });
  });

  describe('P-Asserted-Identity (RFC 3325)', () => {
    it('is checked too: an allowed From does not excuse a foreign PAI', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: '+14155550100', assertedUser: '+12125550123' }), trunk()), REFUSED('+12125550123'));
    });
    it('an allowed PAI does not excuse a foreign From', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: '+12125550123', assertedUser: '+14155550100' }), trunk()), REFUSED('+12125550123'));
    });
    it('is the number presented when both are allowed', () => {
      assert.deepEqual(
        checkCallerId(presented({ fromUser: '+14155550100', assertedUser: '+14155550101' }), trunk()),
        { ok: true, number: '+14155550101', anonymous: false, replaced: false },
      );
    });
    it('is normalised under the trunk’s plan', () => {
      assert.deepEqual(
        checkCallerId(presented({ fromUser: '4155550100', assertedUser: '4155550101' }), trunk()),
        { ok: true, number: '+14155550101', anonymous: false, replaced: false },
      );
    });
    it('a foreign PAI is replaced when the trunk says so', () => {
      assert.deepEqual(
        checkCallerId(presented({ fromUser: '+14155550101', assertedUser: '+12125550123' }), replacing),
        { ok: true, number: '+14155550100', anonymous: false, replaced: true },
      );
    });
  });

  describe('withheld numbers', () => {
    it('an anonymous From with an allowed PAI is accepted and anonymous', () => {
      assert.deepEqual(
        checkCallerId(presented({ fromUser: 'anonymous', assertedUser: '+14155550101' }), trunk()),
        { ok: true, number: '+14155550101', anonymous: true, replaced: false },
      );
    });
    it('reads anonymous in any case', () => {
      assert.deepEqual(
        checkCallerId(presented({ fromUser: 'Anonymous', assertedUser: '+14155550101' }), trunk()),
        { ok: true, number: '+14155550101', anonymous: true, replaced: false },
      );
    });
    it('an anonymous From with a foreign PAI is refused', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: 'anonymous', assertedUser: '+12125550123' }), trunk()), REFUSED('+12125550123'));
    });
    it('an anonymous From without a PAI is refused: no number to assert', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: 'anonymous' }), trunk()), REFUSED('anonymous'));
    });
    it('an anonymous From without a PAI gets the default number when replacing, still withheld', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: 'anonymous' }), replacing), { ok: true, number: '+14155550100', anonymous: true, replaced: true });
    });
    it('Privacy: id with an allowed PAI is accepted and anonymous', () => {
      assert.deepEqual(
        checkCallerId(presented({ fromUser: '+14155550100', assertedUser: '+14155550101', privacy: true }), trunk()),
        { ok: true, number: '+14155550101', anonymous: true, replaced: false },
      );
    });
    it('Privacy: id with an allowed From and no PAI is accepted and anonymous (the From is the number)', () => {
      assert.deepEqual(
        checkCallerId(presented({ fromUser: '+14155550100', privacy: true }), trunk()),
        { ok: true, number: '+14155550100', anonymous: true, replaced: false },
      );
    });
    it('Privacy: id does not excuse a foreign From', () => {
      assert.deepEqual(checkCallerId(presented({ fromUser: '+12125550123', assertedUser: '+14155550101', privacy: true }), trunk()), REFUSED('+12125550123'));
    });
    it('Privacy: id with an anonymous From and an allowed PAI', () => {
      assert.deepEqual(
        checkCallerId(presented({ fromUser: 'anonymous', assertedUser: '+14155550100', privacy: true }), trunk()),
        { ok: true, number: '+14155550100', anonymous: true, replaced: false },
      );
    });
  });
});
