// A call ringing on worker A, its early record written, and worker B adopting the slot: B ends it
// cleanly from the record alone (docs/architecture.md "Worker takeover": early records).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipRequest, SipResponse, type SipMessage } from '@switchboard/sip';
import { LocalCallLimiter, type LimitHold } from '@switchboard/limits';
import { A_PORT, answer, deliver, fromA, inviteFromA, isReq, settle, type TestContext } from '../testing/harness.js';
import { C1, carrier, engineWith, takeInvite, trunking, waitFor } from '../testing/call-fixtures.js';
import { TAKEOVER_REASON } from '../call/call-actor.js';
import { EARLY_SNAPSHOT_VERSION } from './call-snapshot.js';
import { MemoryDialogStore } from './dialog-store.js';
import { decodeSnapshot } from './snapshot-codec.js';
import { SlotAdopter } from './slot-adopter.js';

const LIMITED = trunking([carrier('carrierB', C1)], { restrictions: { maxConcurrent: 5 } });

function worker(store: MemoryDialogStore, id: string, earlyAfterMs = 20) {
  const limiter = new LocalCallLimiter();
  const h = engineWith(LIMITED, { limiter });
  const ctx: TestContext = h.ctx;
  ctx.workerId = id;
  const adopter = new SlotAdopter(h.ctx, { store, maxInFlight: 8, maxPending: 100, earlyAfterMs });
  ctx.snapshots = adopter;
  const releases: LimitHold[] = [];
  const release = limiter.release.bind(limiter);
  limiter.release = (hold) => (releases.push(hold), release(hold));
  return { h, limiter, adopter, releases };
}

/** A call from the PBX ringing at the carrier on worker `a`, past its earlyAfterMs: its early record written. */
async function ringing(a: ReturnType<typeof worker>, store: MemoryDialogStore) {
  deliver(a.h.engine, inviteFromA(), A_PORT);
  await settle();
  const bInvite = takeInvite(a.h, C1);
  deliver(a.h.engine, answer(bInvite, 180, { port: C1 }), C1);
  await settle();
  const [ringingA] = a.h.link.take(A_PORT, (m) => m instanceof SipResponse && m.status === 180);
  assert.ok(ringingA instanceof SipResponse, '180 relayed to the caller');
  await waitFor(() => store.size === 1, 'the early record written once the call rang earlyAfterMs');
  const [key = ''] = store.allKeys();
  const stored = await store.get(key);
  assert.ok(stored);
  return { bInvite, ringingA, snapshot: decodeSnapshot(stored.value), bytes: stored.value.length };
}

const sentTo = (h: ReturnType<typeof worker>['h'], port: number, match: (m: SipMessage) => boolean) => h.link.take(port, match);

describe('worker takeover: a ringing call ended from its early record', () => {
  test('500 with Reason to the caller until ACKed, CANCEL to the carrier and its 487 ACKed; one record; the hold released once', async (t) => {
    const store = new MemoryDialogStore();
    const a = worker(store, 'w1');
    t.after(() => a.h.kernel.shutdown());
    const { bInvite, ringingA, snapshot, bytes } = await ringing(a, store);
    assert.equal(snapshot.v, EARLY_SNAPSHOT_VERSION);
    assert.equal(snapshot.answeredAt, undefined);
    assert.deepEqual(snapshot.sessions, [], 'no SDP');
    assert.deepEqual(snapshot.legs.map((l) => [l.name, l.invite?.provisionalSeen]), [['a', true], ['b1', true]]);
    console.log(`early record of a ringing call: ${bytes} bytes`);

    // worker A dies (its actors never run again); worker B adopts the slot
    const b = worker(store, 'w2');
    t.after(() => b.h.kernel.shutdown());
    assert.deepEqual(await b.adopter.adoptSlot(snapshot.slot), { calls: 1, unreadable: 0 });
    assert.equal(b.h.ctx.counters.get('calls.adopted-early'), 1);
    await settle();
    const [final] = sentTo(b.h, A_PORT, (m) => m instanceof SipResponse && m.status >= 200);
    assert.ok(final instanceof SipResponse, 'a final response to the caller');
    assert.equal(final.status, 500);
    assert.equal(final.headers.get('reason'), TAKEOVER_REASON);
    assert.equal(final.headers.to?.tag, ringingA.headers.to?.tag, 'the To tag of the 180 the caller had');
    assert.equal(final.headers.topVia?.branch, ringingA.headers.topVia?.branch);
    const [cancel] = sentTo(b.h, C1, isReq('CANCEL'));
    assert.ok(cancel instanceof SipRequest, 'CANCEL to the carrier');
    assert.equal(cancel.headers.topVia?.branch, bInvite.headers.topVia?.branch, '§9.1: the INVITE\'s branch');
    assert.equal(cancel.headers.cseq?.toString(), '1 CANCEL');
    assert.equal(cancel.uri.toString(), bInvite.uri.toString());

    // the carrier: 200 to the CANCEL, 487 to the INVITE; the adopter ACKs the 487
    deliver(b.h.engine, answer(cancel, 200), C1);
    deliver(b.h.engine, answer(bInvite, 487, { port: C1 }), C1);
    await settle();
    const [ack] = sentTo(b.h, C1, isReq('ACK'));
    assert.ok(ack instanceof SipRequest, 'the 487 ACKed');
    assert.equal(ack.headers.topVia?.branch, bInvite.headers.topVia?.branch, '§17.1.1.3: the ACK of a non-2xx shares the INVITE\'s branch');
    // the caller ACKs the 500: absorbed
    deliver(b.h.engine, fromA(final, 'ACK', 1), A_PORT);
    await settle();
    assert.equal(sentTo(b.h, A_PORT, () => true).length, 0, 'nothing more to the caller');

    await waitFor(() => b.h.ctx.calls.size === 0, 'the call over');
    b.h.ctx.cdr.tell({ flush: true });
    await settle();
    assert.equal(b.h.records.length, 1, 'one record');
    const [record] = b.h.records;
    assert.equal(record?.takenOver?.from, 'w1');
    assert.equal(record?.disposition, 'failed');
    assert.equal(record?.status, 500);
    assert.equal(record?.answeredAt, undefined);
    assert.equal(record?.startedAt, snapshot.startedAt);
    assert.equal(b.releases.length, snapshot.holds.length, 'each adopted hold released once');
    assert.equal(snapshot.holds.length, 1);
    assert.equal(b.limiter.held().size, 0);
    assert.equal(store.size, 0, 'the early record deleted');
  });

  test('a 2xx crossing the CANCEL is ACKed and the call BYEd; still one unanswered record', async (t) => {
    const store = new MemoryDialogStore();
    const a = worker(store, 'w1');
    t.after(() => a.h.kernel.shutdown());
    const { bInvite, snapshot } = await ringing(a, store);
    const b = worker(store, 'w2');
    t.after(() => b.h.kernel.shutdown());
    await b.adopter.adoptSlot(snapshot.slot);
    await settle();
    const [cancel] = sentTo(b.h, C1, isReq('CANCEL'));
    assert.ok(cancel);
    deliver(b.h.engine, answer(cancel, 200), C1);
    deliver(b.h.engine, answer(bInvite, 200, { port: C1, sdp: 'v=0\r\n' }), C1);
    await settle();
    const acks = sentTo(b.h, C1, isReq('ACK'));
    const byes = sentTo(b.h, C1, isReq('BYE'));
    assert.equal(acks.length, 1, 'the crossing 2xx ACKed');
    assert.equal(byes.length, 1, 'and the dialog it made ended');
    const bye = byes[0] as SipRequest;
    assert.ok((bye.headers.cseq?.seq ?? 0) > 1, 'a CSeq above the INVITE\'s');
    assert.equal(bye.headers.to?.tag, 'btag');
    deliver(b.h.engine, answer(bye, 200), C1);
    // a retransmitted 2xx is ACKed again, and BYEd no more
    deliver(b.h.engine, answer(bInvite, 200, { port: C1, sdp: 'v=0\r\n' }), C1);
    await settle();
    assert.equal(sentTo(b.h, C1, isReq('BYE')).length, 0);
    await waitFor(() => b.h.ctx.calls.size === 0, 'the call over');
    b.h.ctx.cdr.tell({ flush: true });
    await settle();
    assert.equal(b.h.records.length, 1, 'one record');
    assert.equal(b.h.records[0]?.disposition, 'failed');
    assert.equal(b.h.records[0]?.answeredAt, undefined);
    assert.equal(b.releases.length, 1, 'the hold released once');
    assert.equal(store.size, 0);
  });

  test('earlyAfterMs 0: a ringing call gets no early record; answered sooner than earlyAfterMs: one write, its confirmed snapshot', async (t) => {
    const store = new MemoryDialogStore();
    const off = worker(store, 'w1', 0);
    t.after(() => off.h.kernel.shutdown());
    deliver(off.h.engine, inviteFromA(), A_PORT);
    await settle();
    const bInvite = takeInvite(off.h, C1);
    deliver(off.h.engine, answer(bInvite, 180, { port: C1 }), C1);
    await new Promise((r) => setTimeout(r, 40));
    await settle();
    assert.equal(store.size, 0);

    const slow = worker(store, 'w2', 60_000);
    t.after(() => slow.h.kernel.shutdown());
    deliver(slow.h.engine, inviteFromA({ callId: 'answered-soon@pbx' }), A_PORT);
    await settle();
    const inv = takeInvite(slow.h, C1);
    deliver(slow.h.engine, answer(inv, 180, { port: C1 }), C1);
    await settle();
    deliver(slow.h.engine, answer(inv, 200, { port: C1, sdp: 'v=0\r\n' }), C1);
    await settle();
    const [ok] = slow.h.link.take(A_PORT, (m) => m instanceof SipResponse && m.status === 200);
    assert.ok(ok);
    deliver(slow.h.engine, fromA(ok, 'ACK', 1), A_PORT);
    await waitFor(() => store.size === 1, 'the confirmed snapshot written at once');
    assert.equal(slow.h.ctx.counters.get('snapshots.written'), 1, 'one write: no early record before it');
    const stored = await store.get(store.allKeys()[0] ?? '');
    assert.equal(stored === undefined ? undefined : decodeSnapshot(stored.value).v, 1);
  });
  test('a handover writes a ringing call\'s early record even with earlyAfterMs 0; dropping the slot then stops the call without a word', async (t) => {
    const store = new MemoryDialogStore();
    const a = worker(store, 'w1', 0);
    t.after(() => a.h.kernel.shutdown());
    deliver(a.h.engine, inviteFromA(), A_PORT);
    await settle();
    const bInvite = takeInvite(a.h, C1);
    deliver(a.h.engine, answer(bInvite, 180, { port: C1 }), C1);
    await settle();
    assert.equal(store.size, 0, 'earlyAfterMs 0: no early record while it rings');
    const call = [...a.h.ctx.calls.values()][0];
    assert.ok(call);
    await a.adopter.flushSlot(call.routingSlot, 1_000);
    assert.equal(store.size, 1, 'the handover wrote it');
    const stored = await store.get(store.allKeys()[0] ?? '');
    assert.equal(stored === undefined ? undefined : decodeSnapshot(stored.value).v, EARLY_SNAPSHOT_VERSION);
    a.h.link.sent.length = 0;
    assert.equal(a.adopter.dropSlot(call.routingSlot), 1);
    await settle();
    assert.equal(a.h.link.sent.length, 0, 'no SIP: the new owner ends it');
    assert.equal(a.h.ctx.calls.size, 0);
    assert.equal(a.limiter.held().size, 0);
    a.h.ctx.cdr.tell({ flush: true });
    await settle();
    assert.equal(a.h.records.length, 0, 'the new owner makes the record');
    assert.equal(store.size, 1, 'the new owner has the early record');
  });

  test('a zombie\'s write of an early record fails once an adopter rewrote it', async (t) => {
    const store = new MemoryDialogStore();
    const a = worker(store, 'w1');
    t.after(() => a.h.kernel.shutdown());
    const { bInvite } = await ringing(a, store);
    // the adopter's rewrite (adoptSlot puts the same bytes at the next revision)
    const key = store.allKeys()[0] ?? '';
    const stored = await store.get(key);
    assert.ok(stored);
    await store.put(key, stored.value, stored.revision);
    deliver(a.h.engine, answer(bInvite, 183, { port: C1 }), C1); // a change on the zombie: written, refused
    await waitFor(() => a.h.ctx.counters.get('snapshots.fenced') === 1, 'the zombie\'s early write failed its compare-and-set');
    assert.equal((await store.get(key))?.revision, stored.revision + 1, 'the adopter\'s revision stands');
  });
});
