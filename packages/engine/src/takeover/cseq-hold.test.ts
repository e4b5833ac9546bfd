// A request held for the snapshot write (its CSeq would cross the bucket's reservation) against the
// dialog's end and the peer's re-INVITE: nothing follows a BYE (RFC 3261 §15), its owner hears 481,
// and a held INVITE or offer is pending for glare (§14.1).
import assert from 'node:assert/strict';
import { describe, test, type TestContext as NodeTestContext } from 'node:test';
import type { SipMessage, SipRequest } from '@switchboard/sip';
import { LocalCallLimiter } from '@switchboard/limits';
import { A_PORT, answer, deliver, fromA, isReq, isRes, settle, type TestContext } from '../testing/harness.js';
import { C1, engineWith, establish, trunking, carrier, fromCarrier } from '../testing/call-fixtures.js';
import { GatedStore } from '../testing/gated-store.js';
import { VirtualTime } from '../testing/virtual-time.js';
import { CSEQ_HOLD_MS } from '../dialog/transaction-driver.js';
import { MemoryDialogStore } from './dialog-store.js';
import { SlotAdopter } from './slot-adopter.js';

const SDP = 'v=0\r\ns=hold\r\n';

/** A call up on a snapshotting worker, its bucket stalled, and the PBX's next request held at the carrier leg. */
async function heldCall(t: NodeTestContext, method: 'UPDATE' | 'INVITE') {
  const clock = new VirtualTime(t);
  const gated = new GatedStore(new MemoryDialogStore());
  const h = engineWith(trunking([carrier('carrierB', C1)]), { limiter: new LocalCallLimiter() });
  const ctx: TestContext = h.ctx;
  ctx.workerId = 'w1';
  ctx.snapshots = new SlotAdopter(h.ctx, { store: gated, maxInFlight: 8, maxPending: 100 });
  t.after(() => {
    gated.release();
    h.kernel.shutdown();
  });
  const { bInvite, ok } = await establish(h);
  await settle();
  gated.held = true;
  let seq = 2;
  for (;;) {
    deliver(h.engine, fromA(ok, 'UPDATE', seq++), A_PORT);
    await settle();
    const sent = h.link.take(C1, isReq('UPDATE'));
    if (sent.length === 0) break;
    for (const u of sent) deliver(h.engine, answer(u, 200), C1);
    await settle();
    h.link.take(A_PORT);
  }
  // the held one is an UPDATE; for an INVITE, have the re-INVITE held behind it
  if (method === 'INVITE') {
    deliver(h.engine, fromA(ok, 'INVITE', seq++, ['Content-Type: application/sdp'], SDP), A_PORT);
    await settle();
    assert.equal(h.link.take(C1, isReq('INVITE')).length, 0, 'the re-INVITE waits behind the held UPDATE');
  }
  assert.ok(h.ctx.counters.get('snapshots.cseq-held') >= 1, 'a request is held');
  return { h, clock, gated, bInvite: bInvite as SipRequest, ok, seq };
}

const requestsTo = (h: { link: { take(port: number, m: (m: SipMessage) => boolean): SipMessage[] } }, port: number) =>
  h.link.take(port, (m) => m.kind === 'request' && (m as SipRequest).method !== 'ACK').map((m) => (m as SipRequest).method);

describe('CSeq hold against the dialog\'s end and glare', () => {
  test('a request held, then our BYE: the BYE goes, nothing held follows it (bound or write), and the leg stops on the BYE\'s 200', async (t) => {
    const { h, clock, gated, ok, seq } = await heldCall(t, 'UPDATE');
    const actors = h.kernel.size;
    deliver(h.engine, fromA(ok, 'BYE', seq), A_PORT);
    await settle();
    const [bye] = h.link.take(C1, isReq('BYE'));
    assert.ok(bye, 'the BYE goes at once');
    deliver(h.engine, answer(bye, 200), C1);
    gated.release();
    await settle();
    await clock.advance(CSEQ_HOLD_MS + 100, 50);
    assert.deepEqual(requestsTo(h, C1), [], 'nothing after the BYE (RFC 3261 §15)');
    assert.equal(h.ctx.counters.get('snapshots.cseq-unreserved'), 0);
    assert.ok(h.kernel.size < actors, 'the carrier leg stopped: nothing held keeps it');
  });

  test('a request held, then the carrier\'s BYE: 200, and nothing held goes to the carrier after it; the leg stops once its BYE transaction is over', async (t) => {
    const { h, clock, gated, bInvite } = await heldCall(t, 'UPDATE');
    const actors = h.kernel.size;
    deliver(h.engine, fromCarrier(bInvite, 'BYE', 1), C1);
    await settle();
    assert.equal(h.link.take(C1, isRes(200, 'BYE')).length, 1);
    await clock.advance(CSEQ_HOLD_MS + 100, 50);
    gated.release();
    await settle();
    assert.deepEqual(requestsTo(h, C1), [], 'nothing after the carrier\'s BYE');
    assert.equal(h.link.take(A_PORT, isRes(481, 'UPDATE')).length, 1, 'the held UPDATE\'s sender hears 481');
    // the carrier's BYE transaction (Timer J, 64*T1 over UDP) is all the leg waits for
    await clock.advance(64 * h.ctx.timers.t1 + 100, 1000);
    assert.ok(h.kernel.size < actors, 'the ended leg stopped: no held request keeps it');
  });

  test('glare (§14.1): a held re-INVITE of ours is pending: the carrier\'s re-INVITE meanwhile gets 491', async (t) => {
    const { h, bInvite } = await heldCall(t, 'INVITE');
    deliver(h.engine, fromCarrier(bInvite, 'INVITE', 1, SDP), C1);
    await settle();
    assert.equal(h.link.take(C1, isRes(491, 'INVITE')).length, 1, '491 to the carrier');
    assert.equal(h.link.take(A_PORT, isReq('INVITE')).length, 0, 'not relayed to the PBX');
  });

  test('glare: a held UPDATE with an offer is pending too', async (t) => {
    const { h, bInvite, ok, seq } = await heldCall(t, 'UPDATE');
    // the held one is body-less: not an offer, no glare
    deliver(h.engine, fromA(ok, 'UPDATE', seq, ['Content-Type: application/sdp'], SDP), A_PORT);
    await settle();
    deliver(h.engine, fromCarrier(bInvite, 'INVITE', 1, SDP), C1);
    await settle();
    assert.equal(h.link.take(C1, isRes(491, 'INVITE')).length, 1, '491 to the carrier');
  });

  test('the hold\'s bound is a leg timer through the mailbox: what sending then throws reaches the leg\'s crash handling (BYE), not the timer\'s caller', async (t) => {
    const { h, clock } = await heldCall(t, 'UPDATE');
    const send = h.link.send.bind(h.link);
    h.link.send = (message, to, ref) => {
      if (message.kind === 'request' && message.method === 'UPDATE') throw new Error('link down');
      send(message, to, ref);
    };
    await clock.advance(CSEQ_HOLD_MS + 100, 50);
    assert.deepEqual(requestsTo(h, C1), ['BYE'], 'the crashed leg ends its dialog');
  });
});
