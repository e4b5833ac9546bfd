// Unit tests of decideRefer: each rule that refuses a REFER (RFC 3515), alone and in its order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRefer, type ReferAsk, type ReferDecision, type ReferringCall } from './refer-rules.js';
import { readReferTo, type ReferTarget } from './refer-target.js';
import { TrunkConfig } from './trunk-config.js';

const TRUNK = TrunkConfig.parse({
  id: 'acme',
  domain: 'acme.trunks.example',
  acl: ['192.0.2.0/24'],
  dids: ['+14155550100'],
  origination: { uris: ['sip:pbx.acme.example;transport=tcp'] },
  numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
});

const PSTN_TARGET = '<sip:+14155550199@acme.trunks.example>';
const SIP_TARGET = '<sip:bob@example.com>';

/** A call every rule lets through: the customer's REFER on a bridged call, to a number on its trunk. */
const CALL: ReferringCall = {
  fromCustomer: true,
  up: true,
  transferInProgress: false,
  remainingPresent: true,
  transfersSoFar: 0,
  transferorOnOtherDomain: false,
  parties: ['+14155550100', 'sip:+442079460000@carrier.example;user=phone'],
  remainingHasSession: true,
};
const ASK: ReferAsk = { referTo: [PSTN_TARGET], cseq: 2, referSub: true };

/** What decideRefer is given; `noAsk`/`noTrunk` pass undefined instead, so the other rules can still be set up. */
interface Scenario {
  readonly call: ReferringCall;
  readonly ask: ReferAsk;
  readonly trunk: TrunkConfig;
  readonly noAsk?: true;
  readonly noTrunk?: true;
}
const BASELINE: Scenario = { call: CALL, ask: ASK, trunk: TRUNK };

const decide = (s: Scenario): ReferDecision => decideRefer(s.call, s.noAsk ? undefined : s.ask, s.noTrunk ? undefined : s.trunk);
const call = (s: Scenario, change: Partial<ReferringCall>): Scenario => ({ ...s, call: { ...s.call, ...change } });
const ask = (s: Scenario, change: Partial<ReferAsk>): Scenario => ({ ...s, ask: { ...s.ask, ...change } });
const transfer = (s: Scenario, change: Partial<TrunkConfig['transfer']>): Scenario => ({ ...s, trunk: { ...s.trunk, transfer: { ...s.trunk.transfer, ...change } } });

/** The target, failing the test when the REFER is refused. */
function accepted(d: ReferDecision): { target: ReferTarget; referSub: boolean } {
  if (d.kind === 'refused') return assert.fail(`refused ${d.status} ${d.reason}`);
  return d;
}

function refused(d: ReferDecision, status: number, reason: string): void {
  assert.equal(d.kind, 'refused', 'expected a refusal');
  if (d.kind === 'refused') assert.deepEqual({ status: d.status, reason: d.reason }, { status, reason });
}

/**
 * The rules in the order decideRefer checks them, each as the one change to the baseline that
 * breaks it. A change sets every field its rule reads (rule 9 sets the PSTN target too), so that
 * applied last over a later rule's change it still breaks its rule.
 */
const RULES: readonly { rule: string; breaks: (s: Scenario) => Scenario; status: number; reason: string }[] = [
  { rule: '1. no REFER could be read', breaks: (s) => ({ ...s, noAsk: true }), status: 403, reason: 'Transfer Not Allowed' },
  { rule: '1. the call has no trunk', breaks: (s) => ({ ...s, noTrunk: true }), status: 403, reason: 'Transfer Not Allowed' },
  { rule: '1. the REFER came from the carrier’s leg', breaks: (s) => call(s, { fromCustomer: false }), status: 403, reason: 'Transfer Not Allowed' },
  { rule: '2. the call is not bridged', breaks: (s) => call(s, { up: false }), status: 403, reason: 'Transfer Not Allowed' },
  { rule: '3. a transfer is in progress', breaks: (s) => call(s, { transferInProgress: true }), status: 491, reason: 'Request Pending' },
  { rule: '4. the remaining party is gone', breaks: (s) => call(s, { remainingPresent: false }), status: 481, reason: 'Call/Transaction Does Not Exist' },
  { rule: '5. the trunk disables transfer', breaks: (s) => transfer(s, { mode: 'disabled' }), status: 403, reason: 'Transfer Not Allowed' },
  { rule: '6. the call made maxPerCall transfers', breaks: (s) => call(s, { transfersSoFar: s.trunk.transfer.maxPerCall }), status: 403, reason: 'Too Many Transfers' },
  { rule: '7. the CSeq number is 2**31', breaks: (s) => ask(s, { cseq: 2 ** 31 }), status: 400, reason: 'Bad CSeq' },
  { rule: '8. readReferTo refuses (two Refer-To)', breaks: (s) => ask(s, { referTo: [PSTN_TARGET, SIP_TARGET] }), status: 400, reason: 'Multiple Refer-To' },
  { rule: '9. a PSTN target on a sip-only trunk', breaks: (s) => ask(transfer(s, { mode: 'sip-only' }), { referTo: [PSTN_TARGET] }), status: 403, reason: 'PSTN Transfer Not Allowed' },
  { rule: '10. a SIP target on a pstn-only trunk', breaks: (s) => ask(transfer(s, { mode: 'pstn-only' }), { referTo: [SIP_TARGET] }), status: 403, reason: 'SIP Transfer Not Allowed' },
  { rule: '11. a PSTN target from a transferor on another domain', breaks: (s) => ask(call(s, { transferorOnOtherDomain: true }), { referTo: [PSTN_TARGET] }), status: 403, reason: 'PSTN Transfer Not Allowed' },
  { rule: '12. the target is one of the parties', breaks: (s) => ask(call(s, { parties: ['+14155550199'] }), { referTo: [PSTN_TARGET] }), status: 403, reason: 'Transfer Loop' },
  { rule: '13. the remaining party’s session is unknown', breaks: (s) => call(s, { remainingHasSession: false }), status: 488, reason: 'No Session to Transfer' },
];

describe('decideRefer', () => {
  it('accepts the baseline: a number on the trunk’s domain is a pstn target', () => {
    const { target, referSub } = accepted(decide(BASELINE));
    assert.equal(target.kind, 'pstn');
    if (target.kind === 'pstn') assert.equal(target.number, '+14155550199');
    assert.equal(referSub, true);
  });

  describe('each rule alone refuses, with its status and reason', () => {
    for (const r of RULES) {
      it(r.rule, () => refused(decide(r.breaks(BASELINE)), r.status, r.reason));
    }
  });

  describe('the first rule that matches answers', () => {
    it('a call that is not bridged and has a transfer in progress gets 403, not 491', () => {
      refused(decide(call(BASELINE, { up: false, transferInProgress: true })), 403, 'Transfer Not Allowed');
    });
    it('each rule answers before every later one', () => {
      // every pair whose answers differ: swapping two rules changes some pair's answer
      for (const [i, earlier] of RULES.entries()) {
        for (const later of RULES.slice(i + 1)) {
          const d = decide(earlier.breaks(later.breaks(BASELINE)));
          assert.deepEqual(d, { kind: 'refused', status: earlier.status, reason: earlier.reason }, `${earlier.rule} before ${later.rule}`);
        }
      }
    });
  });

  describe('the edges of the rules', () => {
    it('accepts one transfer under maxPerCall, and refuses the first over a lower limit', () => {
      accepted(decide(call(BASELINE, { transfersSoFar: TRUNK.transfer.maxPerCall - 1 })));
      refused(decide(call(transfer(BASELINE, { maxPerCall: 1 }), { transfersSoFar: 1 })), 403, 'Too Many Transfers');
    });
    it('accepts the largest CSeq number, 2**31 - 1 (RFC 3261 §8.1.1.5)', () => {
      accepted(decide(ask(BASELINE, { cseq: 2 ** 31 - 1 })));
    });
    it('accepts a SIP target on a sip-only trunk and a PSTN target on a pstn-only trunk', () => {
      assert.equal(accepted(decide(ask(transfer(BASELINE, { mode: 'sip-only' }), { referTo: [SIP_TARGET] }))).target.kind, 'sip');
      assert.equal(accepted(decide(transfer(BASELINE, { mode: 'pstn-only' }))).target.kind, 'pstn');
    });
    it('accepts a SIP target from a transferor on another domain', () => {
      assert.equal(accepted(decide(ask(call(BASELINE, { transferorOnOtherDomain: true }), { referTo: [SIP_TARGET] }))).target.kind, 'sip');
    });
    it('refuses as a loop the customer’s own PBX (an origination URI)', () => {
      refused(decide(ask(BASELINE, { referTo: ['<sip:PBX.acme.example:5060>'] })), 403, 'Transfer Loop');
    });
  });

  describe('readReferTo’s refusals come through unchanged', () => {
    const cases: [string, string[], number, string][] = [
      ['none', [], 400, 'Missing Refer-To'],
      ['two values', [PSTN_TARGET, SIP_TARGET], 400, 'Multiple Refer-To'],
      ['a malformed value', ['<sip:bob@example.com'], 400, 'Bad Refer-To'],
      ['a mailto: URI', ['<mailto:bob@example.com>'], 400, 'Unsupported Refer-To URI'],
      ['the start of a number', ['<sip:+1415@acme.trunks.example>'], 484, 'Address Incomplete'],
    ];
    for (const [what, referTo, status, reason] of cases) {
      it(`${status} ${reason} for ${what}`, () => {
        assert.deepEqual(readReferTo(referTo, TRUNK), { kind: 'refused', status, reason });
        assert.deepEqual(decide(ask(BASELINE, { referTo })), { kind: 'refused', status, reason });
      });
    }
  });

  describe('what an accepted REFER carries', () => {
    it('a URI on another domain is a sip target', () => {
      const { target } = accepted(decide(ask(BASELINE, { referTo: [SIP_TARGET] })));
      assert.equal(target.kind, 'sip');
      if (target.kind === 'sip') assert.equal(target.host, 'example.com');
    });
    it('carries Refer-Sub: false (RFC 4488)', () => {
      assert.equal(accepted(decide(ask(BASELINE, { referSub: false }))).referSub, false);
    });
  });
});
