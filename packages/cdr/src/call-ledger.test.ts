import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallLedger, type CallEvent } from './call-ledger.js';

const T0 = 1_700_000_000_000;

function ledgerOf(events: CallEvent[]): CallLedger {
  const ledger = new CallLedger('0a1b2c3d', 'w1');
  for (const e of events) ledger.apply(e);
  return ledger;
}

/** An origination call from carrier `demo` answered by the PBX (leg b1) at T0+2 s. */
const answeredOrigination: CallEvent[] = [
  { type: 'started', at: T0, sipCallId: 'carrier-call@x' },
  { type: 'planned', trunk: 'acme', direction: 'origination', from: { received: '4155550100', normalised: '+14155550100' }, to: { received: '+12125550199', normalised: '+12125550199' } },
  { type: 'attempt', leg: 'b1', at: T0 + 10, sipCallId: 'pbx-call@w1' },
  { type: 'ringing', leg: 'b1', at: T0 + 500 },
  { type: 'answered', leg: 'b1', at: T0 + 2_000 },
];

describe('CallLedger: one call', () => {
  it('an answered call hung up by its caller', () => {
    const [r, ...more] = ledgerOf([
      ...answeredOrigination,
      { type: 'hangup', leg: 'a', at: T0 + 62_100, cancel: false, reason: 'Q.850;cause=16' },
      { type: 'ending', at: T0 + 62_100, by: 'a' },
      { type: 'ended', at: T0 + 62_300 },
    ]).records();
    assert.equal(more.length, 0);
    assert.ok(r);
    assert.equal(r.id, '0a1b2c3d-0');
    assert.equal(r.parentId, undefined);
    assert.equal(r.trunk, 'acme');
    assert.equal(r.direction, 'origination');
    assert.equal(r.disposition, 'answered');
    assert.equal(r.status, 200);
    assert.equal(r.endedBy, 'caller');
    assert.equal(r.reason, 'Q.850;cause=16');
    assert.equal(r.ringingAt, T0 + 500);
    assert.equal(r.answeredAt, T0 + 2_000);
    assert.equal(r.endedAt, T0 + 62_100, 'the end is the hangup, not the last transaction ending');
    assert.equal(r.duration, 62.1);
    assert.equal(r.billableSeconds, 61, '60.1 s answered: rounded up');
    assert.deepEqual(r.legs.map((l) => [l.leg, l.sipCallId, l.role]), [['a', 'carrier-call@x', 'caller'], ['b1', 'pbx-call@w1', 'callee']]);
    assert.deepEqual(r.from, { received: '4155550100', normalised: '+14155550100' });
  });

  it('a call the callee hangs up', () => {
    const [r] = ledgerOf([...answeredOrigination, { type: 'hangup', leg: 'b1', at: T0 + 5_000, cancel: false }, { type: 'ending', at: T0 + 5_000, by: 'b1' }, { type: 'ended', at: T0 + 5_001 }]).records();
    assert.equal(r?.endedBy, 'callee');
    assert.equal(r?.billableSeconds, 3);
  });

  it('a termination call with failover: carriers tried in order, the one that answered', () => {
    const [r] = ledgerOf([
      { type: 'started', at: T0, sipCallId: 'pbx@x' },
      { type: 'planned', trunk: 'acme', direction: 'termination', from: { received: '100', normalised: '+14155550100' }, to: { received: '0044207', normalised: '+44207' } },
      { type: 'attempt', leg: 'b1', at: T0, sipCallId: 'b1@w', carrier: 'primary' },
      { type: 'failed', leg: 'b1', at: T0 + 100, status: 503, statusText: 'Service Unavailable', cause: 'response' },
      { type: 'attempt', leg: 'b2', at: T0 + 100, sipCallId: 'b2@w', carrier: 'backup' },
      { type: 'answered', leg: 'b2', at: T0 + 1_000 },
      { type: 'ending', at: T0 + 3_000 },
      { type: 'ended', at: T0 + 3_000 },
    ]).records();
    assert.deepEqual(r?.carriersTried, ['primary', 'backup']);
    assert.equal(r?.carrier, 'backup');
    assert.equal(r?.disposition, 'answered');
    assert.equal(r?.endedBy, 'system');
  });

  const unanswered: [string, CallEvent[], { disposition: string; status: number; endedBy: string }][] = [
    ['refused by the trunk policy', [
      { type: 'refused', trunk: 'acme', direction: 'termination', to: { received: '1900' } },
      { type: 'final', at: T0 + 1, status: 403, statusText: 'Destination Blocked' },
      { type: 'ending', at: T0 + 1 },
    ], { disposition: 'refused', status: 403, endedBy: 'system' }],
    ['refused by a limit with 486', [
      { type: 'planned', trunk: 'acme', direction: 'origination', from: {}, to: {} },
      { type: 'refused', trunk: 'acme', direction: 'origination' },
      { type: 'final', at: T0 + 1, status: 486, statusText: 'Concurrent Call Limit' },
      { type: 'ending', at: T0 + 1 },
    ], { disposition: 'refused', status: 486, endedBy: 'system' }],
    ['a CANCEL before the answer', [
      { type: 'attempt', leg: 'b1', at: T0, sipCallId: 'b1@w' },
      { type: 'ringing', leg: 'b1', at: T0 + 100 },
      { type: 'hangup', leg: 'a', at: T0 + 4_000, cancel: true },
      { type: 'ending', at: T0 + 4_000, by: 'a' },
      { type: 'failed', leg: 'b1', at: T0 + 4_010, status: 487, statusText: 'Request Terminated', cause: 'response' },
    ], { disposition: 'cancelled', status: 487, endedBy: 'caller' }],
    ['486 from the callee', [
      { type: 'attempt', leg: 'b1', at: T0, sipCallId: 'b1@w' },
      { type: 'failed', leg: 'b1', at: T0 + 300, status: 486, statusText: 'Busy Here', cause: 'response' },
      { type: 'final', at: T0 + 300, status: 486, statusText: 'Busy Here' },
      { type: 'ending', at: T0 + 300, by: 'b1' },
    ], { disposition: 'busy', status: 486, endedBy: 'callee' }],
    ['Timer B on the only target', [
      { type: 'attempt', leg: 'b1', at: T0, sipCallId: 'b1@w' },
      { type: 'failed', leg: 'b1', at: T0 + 32_000, status: 408, statusText: 'Request Timeout', cause: 'timeout' },
      { type: 'final', at: T0 + 32_000, status: 503, statusText: 'All Routes Failed' },
      { type: 'ending', at: T0 + 32_000 },
    ], { disposition: 'no-answer', status: 503, endedBy: 'system' }],
    ['every route failed', [
      { type: 'attempt', leg: 'b1', at: T0, sipCallId: 'b1@w' },
      { type: 'failed', leg: 'b1', at: T0 + 10, status: 503, statusText: 'Transport Error', cause: 'transport-error' },
      { type: 'final', at: T0 + 10, status: 503, statusText: 'All Routes Failed' },
      { type: 'ending', at: T0 + 10 },
    ], { disposition: 'failed', status: 503, endedBy: 'system' }],
  ];
  for (const [name, events, expected] of unanswered) {
    it(`unanswered: ${name}`, () => {
      const [r] = ledgerOf([{ type: 'started', at: T0, sipCallId: 'x@y' }, ...events, { type: 'ended', at: T0 + 40_000 }]).records();
      assert.ok(r);
      assert.deepEqual({ disposition: r.disposition, status: r.status, endedBy: r.endedBy }, expected);
      assert.equal(r.billableSeconds, 0);
      assert.equal(r.answeredAt, undefined);
      assert.ok(r.endedAt < T0 + 40_000, 'ends when the call was over, not when its last transaction did');
    });
  }

  it('a digest challenge or a stranger leaves no record', () => {
    assert.deepEqual(ledgerOf([{ type: 'started', at: T0, sipCallId: 'x' }, { type: 'unrecorded' }, { type: 'ended', at: T0 }]).records(), []);
  });
});

describe('CallLedger: transfers', () => {
  const transfer = (index: number, transferor: string, remaining: string, kind: 'pstn' | 'sip', at: number): CallEvent => ({
    type: 'transfer', index, at, transferor, remaining, kind, billable: kind === 'pstn',
    referTo: kind === 'pstn' ? 'sip:+14155550111@acme.trunks.example' : 'sip:bob@partner.example',
    referredBy: '+12125550199', from: { normalised: '+14155550100' }, to: kind === 'pstn' ? { received: '+14155550111', normalised: '+14155550111' } : { received: 'sip:bob@partner.example' },
  });

  it('a blind transfer to the PSTN: a billable record linked to the original, which runs until the remaining party leaves', () => {
    const records = ledgerOf([
      ...answeredOrigination,
      transfer(1, 'b1', 'a', 'pstn', T0 + 10_000),
      { type: 'attempt', leg: 'c1.1', at: T0 + 10_005, sipCallId: 'c1@w', carrier: 'demo-pstn', transfer: 1 },
      { type: 'ringing', leg: 'c1.1', at: T0 + 10_100 },
      { type: 'answered', leg: 'c1.1', at: T0 + 12_000 },
      { type: 'hangup', leg: 'b1', at: T0 + 12_050, cancel: false },
      { type: 'hangup', leg: 'c1.1', at: T0 + 30_000, cancel: false },
      { type: 'ending', at: T0 + 30_000, by: 'c1.1' },
      { type: 'released', leg: 'a', at: T0 + 30_001 },
      { type: 'ended', at: T0 + 30_100 },
    ]).records();
    assert.equal(records.length, 2);
    const [original, referred] = records;
    assert.equal(original?.endedAt, T0 + 30_000, 'the carrier leg of the original call was up until the end');
    assert.equal(original?.billableSeconds, 28);
    assert.equal(original?.endedBy, 'callee', 'the new party stands where the transferor stood');
    assert.equal(referred?.id, '0a1b2c3d-1');
    assert.equal(referred?.parentId, '0a1b2c3d-0');
    assert.equal(referred?.callId, '0a1b2c3d');
    assert.equal(referred?.kind, 'pstn');
    assert.equal(referred?.billable, true);
    assert.equal(referred?.referredBy, '+12125550199');
    assert.equal(referred?.referTo, 'sip:+14155550111@acme.trunks.example');
    assert.equal(referred?.carrier, 'demo-pstn');
    assert.equal(referred?.disposition, 'answered');
    assert.equal(referred?.startedAt, T0 + 10_000);
    assert.equal(referred?.answeredAt, T0 + 12_000);
    assert.equal(referred?.billableSeconds, 18);
    assert.equal(referred?.endedBy, 'callee');
    assert.deepEqual(referred?.legs.map((l) => l.sipCallId), ['c1@w']);
  });

  it('a transfer to another domain is not billable', () => {
    const [, referred] = ledgerOf([
      ...answeredOrigination,
      transfer(1, 'b1', 'a', 'sip', T0 + 10_000),
      { type: 'attempt', leg: 'c1.1', at: T0 + 10_005, sipCallId: 'c1@w', transfer: 1 },
      { type: 'answered', leg: 'c1.1', at: T0 + 11_000 },
      { type: 'hangup', leg: 'a', at: T0 + 20_000, cancel: false },
      { type: 'ending', at: T0 + 20_000, by: 'a' },
      { type: 'ended', at: T0 + 20_000 },
    ]).records();
    assert.equal(referred?.kind, 'sip');
    assert.equal(referred?.billable, false);
    assert.equal(referred?.billableSeconds, 0);
    assert.equal(referred?.disposition, 'answered');
    assert.equal(referred?.endedBy, 'caller', 'the remaining party is the caller of the referred call');
  });

  it('a failed transfer: its record says so, the original is untouched', () => {
    const ended: CallEvent[] = [
      { type: 'hangup', leg: 'a', at: T0 + 60_000, cancel: false },
      { type: 'ending', at: T0 + 60_000, by: 'a' },
      { type: 'ended', at: T0 + 60_000 },
    ];
    const [plain] = ledgerOf([...answeredOrigination, ...ended]).records();
    const [original, referred] = ledgerOf([
      ...answeredOrigination,
      transfer(1, 'b1', 'a', 'pstn', T0 + 10_000),
      { type: 'attempt', leg: 'c1.1', at: T0 + 10_005, sipCallId: 'c1@w', carrier: 'demo-pstn', transfer: 1 },
      { type: 'failed', leg: 'c1.1', at: T0 + 10_300, status: 486, statusText: 'Busy Here', cause: 'response' },
      { type: 'transfer-failed', index: 1, at: T0 + 10_300, status: 486, statusText: 'Busy Here', aborted: false },
      ...ended,
    ]).records();
    assert.deepEqual(original, plain);
    assert.equal(referred?.parentId, original?.id);
    assert.equal(referred?.disposition, 'busy');
    assert.equal(referred?.status, 486);
    assert.equal(referred?.endedAt, T0 + 10_300);
    assert.equal(referred?.billableSeconds, 0);
    assert.equal(referred?.endedBy, 'callee');
  });

  it('a transfer the remaining party abandons is cancelled by its caller', () => {
    const [, referred] = ledgerOf([
      ...answeredOrigination,
      transfer(1, 'b1', 'a', 'pstn', T0 + 10_000),
      { type: 'attempt', leg: 'c1.1', at: T0 + 10_005, sipCallId: 'c1@w', transfer: 1 },
      { type: 'hangup', leg: 'a', at: T0 + 15_000, cancel: false },
      { type: 'ending', at: T0 + 15_000, by: 'a' },
      { type: 'transfer-failed', index: 1, at: T0 + 15_010, status: 487, statusText: 'Request Terminated', aborted: true },
      { type: 'ended', at: T0 + 15_100 },
    ]).records();
    assert.equal(referred?.disposition, 'cancelled');
    assert.equal(referred?.endedBy, 'caller');
  });

  it('a chain of two transfers: three records, each linked to the call it was referred from', () => {
    const records = ledgerOf([
      ...answeredOrigination,
      transfer(1, 'b1', 'a', 'sip', T0 + 10_000),
      { type: 'attempt', leg: 'c1.1', at: T0 + 10_005, sipCallId: 'c1@w', transfer: 1 },
      { type: 'answered', leg: 'c1.1', at: T0 + 11_000 },
      { type: 'hangup', leg: 'b1', at: T0 + 11_010, cancel: false },
      transfer(2, 'c1.1', 'a', 'sip', T0 + 20_000),
      { type: 'attempt', leg: 'c2.1', at: T0 + 20_005, sipCallId: 'c2@w', transfer: 2 },
      { type: 'answered', leg: 'c2.1', at: T0 + 21_000 },
      { type: 'released', leg: 'c1.1', at: T0 + 21_500 },
      { type: 'hangup', leg: 'c2.1', at: T0 + 40_000, cancel: false },
      { type: 'ending', at: T0 + 40_000, by: 'c2.1' },
      { type: 'ended', at: T0 + 40_000 },
    ]).records();
    assert.deepEqual(records.map((r) => [r.id, r.parentId]), [['0a1b2c3d-0', undefined], ['0a1b2c3d-1', '0a1b2c3d-0'], ['0a1b2c3d-2', '0a1b2c3d-1']]);
    assert.equal(records[1]?.endedAt, T0 + 21_500, 'the first referred call ended when its party was released');
    assert.equal(records[1]?.endedBy, 'system');
    assert.equal(records[2]?.endedAt, T0 + 40_000);
    assert.equal(records[0]?.endedAt, T0 + 40_000);
    assert.equal(records[0]?.endedBy, 'callee', 'the second new party stands where the first transferor stood');
  });

  it('a 200 that crosses our CANCEL or BYE after the call ended is no answer', () => {
    const [r] = ledgerOf([
      { type: 'started', at: T0, sipCallId: 'x@y' },
      { type: 'attempt', leg: 'b1', at: T0, sipCallId: 'b1@w' },
      { type: 'failed', leg: 'b1', at: T0 + 180_000, status: 408, statusText: 'No Answer', cause: 'no-answer' },
      { type: 'final', at: T0 + 180_000, status: 408, statusText: 'No Answer' },
      { type: 'ending', at: T0 + 180_000 },
      { type: 'answered', leg: 'b1', at: T0 + 180_010 },
      { type: 'ended', at: T0 + 180_100 },
    ]).records();
    assert.equal(r?.disposition, 'no-answer');
    assert.equal(r?.answeredAt, undefined);
    assert.equal(r?.billableSeconds, 0);
  });

  it('a transfer the trunk\'s policy refuses (a blocked destination) is refused', () => {
    const [, referred] = ledgerOf([
      ...answeredOrigination,
      { type: 'transfer', index: 1, at: T0 + 10_000, transferor: 'b1', remaining: 'a', kind: 'pstn', billable: true, referTo: 'sip:+19005550100@acme.trunks.example', from: {}, to: {} },
      { type: 'transfer-failed', index: 1, at: T0 + 10_001, status: 403, statusText: 'Destination Blocked', aborted: false, refused: true },
      { type: 'ending', at: T0 + 20_000, by: 'a' },
      { type: 'ended', at: T0 + 20_000 },
    ]).records();
    assert.equal(referred?.disposition, 'refused');
    assert.equal(referred?.status, 403);
    assert.equal(referred?.statusText, 'Destination Blocked');
    assert.equal(referred?.endedBy, 'system');
  });
});

describe('CallLedger: taken over by another worker', () => {
  it('rebuilt from its events on the adopter: start and answer kept, end real, takenOver set', () => {
    const first = ledgerOf(answeredOrigination);
    const adopted = CallLedger.fromJSON('0a1b2c3d', 'w2', first.toJSON(), { at: T0 + 30_000, from: 'w1' });
    adopted.apply({ type: 'hangup', leg: 'a', at: T0 + 60_000, cancel: false });
    adopted.apply({ type: 'ending', at: T0 + 60_000, by: 'a' });
    adopted.apply({ type: 'ended', at: T0 + 60_100 });
    const [r, ...more] = adopted.records();
    assert.equal(more.length, 0);
    assert.equal(r?.worker, 'w2');
    assert.equal(r?.startedAt, T0);
    assert.equal(r?.answeredAt, T0 + 2_000);
    assert.equal(r?.endedAt, T0 + 60_000);
    assert.equal(r?.endedBy, 'caller');
    assert.deepEqual(r?.takenOver, { at: T0 + 30_000, from: 'w1' });
    assert.equal(ledgerOf(answeredOrigination).records()[0]?.takenOver, undefined, 'a call that stayed put says nothing');
  });
  it('a ringing call ended on the adopter: the 500 we sent is its status, not the 487 of the attempt we then cancelled', () => {
    const ringing = answeredOrigination.slice(0, 4);
    const adopted = CallLedger.fromJSON('0a1b2c3d', 'w2', ledgerOf(ringing).toJSON(), { at: T0 + 3_000, from: 'w1' });
    adopted.apply({ type: 'final', at: T0 + 3_000, status: 500, statusText: 'Server Internal Error' });
    adopted.apply({ type: 'released', leg: 'a', at: T0 + 3_000 });
    adopted.apply({ type: 'released', leg: 'b1', at: T0 + 3_000 });
    adopted.apply({ type: 'ending', at: T0 + 3_000 });
    adopted.apply({ type: 'failed', leg: 'b1', at: T0 + 3_050, status: 487, statusText: 'Request Terminated', cause: 'response' });
    adopted.apply({ type: 'ended', at: T0 + 3_100 });
    const [r, ...more] = adopted.records();
    assert.equal(more.length, 0);
    assert.equal(r?.status, 500);
    assert.equal(r?.statusText, 'Server Internal Error');
    assert.equal(r?.disposition, 'failed');
    assert.equal(r?.answeredAt, undefined);
    assert.deepEqual(r?.takenOver, { at: T0 + 3_000, from: 'w1' });
  });
});
