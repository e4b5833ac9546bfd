// The records calls leave, through the engine's actors with a fake SIP link: the call and
// CDR actors together (the record building itself is tested in @switchboard/cdr).
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { CallDetailRecord } from '@switchboard/cdr';
import { SipRequest, SipResponse, type SipMessage } from '@switchboard/sip';
import { A_PORT, B_PORT, answer, deliver, fromA, inviteFromA, isReq, isRes, makeEngine, settle } from '../testing/harness.js';
import { VirtualTime } from '../testing/virtual-time.js';
import { RECORD_GRACE_MS } from './cdr-actor.js';

type Harness = ReturnType<typeof makeEngine>;

const SDP_B = 'v=0\r\no=carrier 9 9 IN IP4 198.51.100.5\r\ns=-\r\nc=IN IP4 198.51.100.5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';

/**
 * An engine on virtual time: a record waits RECORD_GRACE_MS for late events, which the clock
 * skips instead of the test sleeping through it.
 */
function onVirtualTime(t: TestContext): { h: Harness; clock: VirtualTime } {
  const clock = new VirtualTime(t);
  const h = makeEngine();
  t.after(() => h.kernel.shutdown());
  return { h, clock };
}

async function recordsOf(h: Harness, clock: VirtualTime, n: number): Promise<CallDetailRecord[]> {
  await clock.until(() => h.records.length >= n, `${n} record(s)`, 2 * RECORD_GRACE_MS, 100);
  assert.equal(h.records.length, n, `${n} record(s)`);
  return h.records;
}

function takeOne<T extends SipMessage>(h: Harness, port: number, match: (m: SipMessage) => boolean): T {
  const all = h.link.take(port, match);
  assert.equal(all.length, 1);
  return all[0] as T;
}

/** A termination call from the PBX (trunk acme) to the carrier, answered and ACKed. */
async function answered(h: Harness): Promise<{ ok: SipResponse; bInvite: SipRequest }> {
  deliver(h.engine, inviteFromA({ callId: 'pbx-call-1@pbx.example' }), A_PORT);
  await settle();
  const bInvite = takeOne<SipRequest>(h, B_PORT, isReq('INVITE'));
  deliver(h.engine, answer(bInvite, 180), B_PORT);
  await settle();
  deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B }), B_PORT);
  await settle();
  const ok = takeOne<SipResponse>(h, A_PORT, isRes(200, 'INVITE'));
  deliver(h.engine, fromA(ok, 'ACK', 1), A_PORT);
  await settle();
  h.link.sent.splice(0);
  return { ok, bInvite };
}

describe('call detail records from calls', () => {
  test('a BYE that got through only after a NATS outage: the record ends when the transport first received it', async (t) => {
    const { h, clock } = onVirtualTime(t);
    const { ok } = await answered(h);
    const sentAt = Date.now(); // the first BYE, dropped at the transport while NATS was down
    await clock.advance(500, 100); // its retransmission gets through later
    deliver(h.engine, fromA(ok, 'BYE', 2), A_PORT, 'udp', '127.0.0.1', sentAt);
    await settle();
    const [r] = await recordsOf(h, clock, 1);
    assert.equal(r?.endedAt, sentAt);
    assert.equal(r?.endedBy, 'caller');
  });

  test('an answered call the PBX hangs up: one record with both legs, the carrier, who hung up', async (t) => {
    const { h, clock } = onVirtualTime(t);
    const { ok, bInvite } = await answered(h);
    deliver(h.engine, fromA(ok, 'BYE', 2, ['Reason: Q.850;cause=16;text="Normal call clearing"']), A_PORT);
    await settle();
    const [r] = await recordsOf(h, clock, 1);
    assert.ok(r);
    assert.equal(r.trunk, 'acme');
    assert.equal(r.direction, 'termination');
    assert.equal(r.kind, 'pstn');
    assert.equal(r.disposition, 'answered');
    assert.equal(r.status, 200);
    assert.equal(r.endedBy, 'caller');
    assert.equal(r.reason, 'Q.850;cause=16;text="Normal call clearing"');
    assert.equal(r.carrier, 'carrierB');
    assert.deepEqual(r.carriersTried, ['carrierB']);
    assert.deepEqual(r.legs.map((l) => [l.leg, l.sipCallId]), [['a', 'pbx-call-1@pbx.example'], ['b1', bInvite.headers.callId]]);
    assert.deepEqual(r.from, { received: '+12125550123', normalised: '+12125550123' });
    assert.deepEqual(r.to, { received: '+14155550100', normalised: '+14155550100' });
    assert.ok(r.ringingAt !== undefined && r.answeredAt !== undefined && r.answeredAt >= r.ringingAt && r.endedAt >= r.answeredAt);
    assert.equal(r.worker, 'w1');
  });

  test('the carrier hangs up: ended by the callee', async (t) => {
    const { h, clock } = onVirtualTime(t);
    const { bInvite } = await answered(h);
    const to = bInvite.headers.get('from') ?? '';
    deliver(h.engine, [
      `BYE ${bInvite.headers.contact[0]?.uri.toString()} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.9:${B_PORT};branch=z9hG4bKcbye1`, 'Max-Forwards: 70',
      `From: ${bInvite.headers.get('to')};tag=btag`, `To: ${to}`, `Call-ID: ${bInvite.headers.callId}`, 'CSeq: 1 BYE', 'Content-Length: 0', '', '',
    ].join('\r\n'), B_PORT, 'udp', '127.0.0.9');
    await settle();
    const [r] = await recordsOf(h, clock, 1);
    assert.equal(r?.endedBy, 'callee');
  });

  test('a CANCEL before the answer is cancelled, not failed', async (t) => {
    const { h, clock } = onVirtualTime(t);
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    const bInvite = takeOne<SipRequest>(h, B_PORT, isReq('INVITE'));
    deliver(h.engine, answer(bInvite, 180), B_PORT);
    await settle();
    const cancel = invite.replace(/^INVITE /, 'CANCEL ').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL').replace(/Content-Type:[^\r]*\r\n/, '').replace(/Content-Length: \d+\r\n\r\n[\s\S]*$/, 'Content-Length: 0\r\n\r\n');
    deliver(h.engine, cancel, A_PORT);
    await settle();
    const bCancel = takeOne<SipRequest>(h, B_PORT, isReq('CANCEL'));
    deliver(h.engine, answer(bCancel, 200), B_PORT);
    deliver(h.engine, answer(bInvite, 487), B_PORT);
    await settle();
    const [r] = await recordsOf(h, clock, 1);
    assert.equal(r?.disposition, 'cancelled');
    assert.equal(r?.status, 487);
    assert.equal(r?.endedBy, 'caller');
    assert.equal(r?.billableSeconds, 0);
  });

  for (const status of [486, 603]) {
    test(`${status} from the carrier is busy, the status kept`, async (t) => {
      const { h, clock } = onVirtualTime(t);
      deliver(h.engine, inviteFromA(), A_PORT);
      await settle();
      const bInvite = takeOne<SipRequest>(h, B_PORT, isReq('INVITE'));
      deliver(h.engine, answer(bInvite, status), B_PORT);
      await settle();
      const [r] = await recordsOf(h, clock, 1);
      assert.equal(r?.disposition, 'busy');
      assert.equal(r?.status, status);
      assert.equal(r?.endedBy, 'callee');
    });
  }

  test('a call we refuse is recorded as refused; a stranger is not recorded', async (t) => {
    const { h, clock } = onVirtualTime(t);
    deliver(h.engine, inviteFromA({ headers: [] }).replace('Max-Forwards: 70', 'Max-Forwards: 0'), A_PORT);
    deliver(h.engine, inviteFromA(), A_PORT, 'udp', '203.0.113.66');
    await settle();
    const [r] = await recordsOf(h, clock, 1);
    assert.equal(r?.disposition, 'refused');
    assert.equal(r?.status, 483);
    assert.equal(r?.endedBy, 'system');
    await clock.advance(2 * RECORD_GRACE_MS, 100);
    assert.equal(h.records.length, 1, 'the stranger left no record');
  });

  test('a transfer to a number on the trunk: a second record, linked, PSTN and billable', async (t) => {
    const { h, clock } = onVirtualTime(t);
    const { ok } = await answered(h);
    deliver(h.engine, fromA(ok, 'REFER', 2, ['Refer-To: <sip:+14155552000@switchboard.example>']), A_PORT);
    await settle();
    const cInvite = takeOne<SipRequest>(h, B_PORT, isReq('INVITE'));
    deliver(h.engine, answer(cInvite, 200, { tag: 'ctag', sdp: SDP_B }), B_PORT);
    await settle();
    // the remaining party (the carrier's first leg) is re-INVITEd to the new party's session
    const reinvite = takeOne<SipRequest>(h, B_PORT, isReq('INVITE'));
    deliver(h.engine, answer(reinvite, 200, { sdp: SDP_B }), B_PORT);
    await settle();
    deliver(h.engine, fromA(ok, 'BYE', 3), A_PORT); // the transferor leaves
    await settle();
    // the new party hangs up: the call ends
    deliver(h.engine, [
      `BYE ${cInvite.headers.contact[0]?.uri.toString()} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.9:${B_PORT};branch=z9hG4bKcbye2`, 'Max-Forwards: 70',
      `From: ${cInvite.headers.get('to')};tag=ctag`, `To: ${cInvite.headers.get('from')}`, `Call-ID: ${cInvite.headers.callId}`, 'CSeq: 1 BYE', 'Content-Length: 0', '', '',
    ].join('\r\n'), B_PORT, 'udp', '127.0.0.9');
    await settle();
    const [original, referred] = await recordsOf(h, clock, 2);
    assert.equal(original?.disposition, 'answered');
    assert.equal(referred?.parentId, original?.id);
    assert.equal(referred?.callId, original?.callId);
    assert.equal(referred?.kind, 'pstn');
    assert.equal(referred?.billable, true);
    assert.equal(referred?.disposition, 'answered');
    assert.equal(referred?.referredBy, '+12125550123');
    assert.equal(referred?.referTo, 'sip:+14155552000@switchboard.example');
    assert.deepEqual(referred?.to, { received: '+14155552000', normalised: '+14155552000' });
    assert.equal(referred?.carrier, 'carrierB');
    assert.deepEqual(referred?.legs.map((l) => l.sipCallId), [cInvite.headers.callId]);
    assert.equal(referred?.endedBy, 'callee');
    assert.ok((original?.endedAt ?? 0) >= (referred?.answeredAt ?? Infinity), 'the remaining party was on the original call until the end');
  });
});
