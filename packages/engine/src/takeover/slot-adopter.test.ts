// A call confirmed on worker A, snapshotted, and carried on by worker B from its snapshot alone:
// what B sends for each party's later requests.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipRequest, SipResponse, type SipMessage } from '@switchboard/sip';
import { LocalCallLimiter } from '@switchboard/limits';
import { A_PORT, answer, deliver, fromA, isReq, isRes, settle, type TestContext } from '../testing/harness.js';
import { C1, carrier, engineWith, establish, hangUp, SDP_B, takeFinal, takeInvite, trunking, type Harness } from '../testing/call-fixtures.js';
import { CSEQ_RESERVATION } from './call-snapshot.js';
import { MemoryDialogStore } from './dialog-store.js';
import { decodeSnapshot } from './snapshot-codec.js';
import { SlotAdopter } from './slot-adopter.js';

const LIMITED = trunking([carrier('carrierB', C1)], { restrictions: { maxConcurrent: 5 } });

function worker(store: MemoryDialogStore, id: string, config = LIMITED) {
  const limiter = new LocalCallLimiter();
  const h = engineWith(config, { limiter });
  const ctx: TestContext = h.ctx;
  ctx.workerId = id;
  const adopter = new SlotAdopter(h.ctx, { store, maxInFlight: 8, maxPending: 100 });
  ctx.snapshots = adopter;
  return { h, limiter, adopter };
}

/** A request of the carrier in the engine's b-leg dialog (`invite`: the engine's INVITE to it). */
function fromB(invite: SipRequest, method: string, cseq: number, body = ''): string {
  return [
    `${method} sip:sb@127.0.0.1:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.9:${C1};branch=z9hG4bKb${method.toLowerCase()}${cseq}${Math.random().toString(36).slice(2)}`,
    'Max-Forwards: 70',
    `From: ${invite.headers.get('to')};tag=btag`,
    `To: ${invite.headers.get('from')}`,
    `Call-ID: ${invite.headers.callId}`,
    `CSeq: ${cseq} ${method}`,
    ...(body === '' ? [] : ['Content-Type: application/sdp']),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

const cseqOf = (m: SipMessage) => m.headers.cseq?.seq ?? -1;

function one(h: Harness, port: number, match: (m: SipMessage) => boolean, what: string): SipMessage {
  const found = h.link.take(port, match);
  assert.equal(found.length, 1, what);
  return found[0] as SipMessage;
}

describe('worker takeover: a call carried on from its snapshot', () => {
  test('re-INVITE, UPDATE and BYE from each side through the adopter; one record; the limit hold adopted and released once', async (t) => {
    const store = new MemoryDialogStore();
    const a = worker(store, 'w1');
    t.after(() => a.h.kernel.shutdown());
    const { bInvite, ok } = await establish(a.h);
    await settle();
    assert.equal(store.size, 1, 'written once confirmed');
    // the PBX re-INVITEs; A relays it to the carrier and dies before the carrier answers
    deliver(a.h.engine, fromA(ok, 'INVITE', 2, ['Contact: <sip:pbx@127.0.0.1:5071>', 'Content-Type: application/sdp'], 'v=0\r\no=pbx 1 2 IN IP4 192.0.2.10\r\n'), A_PORT);
    await settle();
    const reinviteOfA = takeInvite(a.h, C1);
    assert.equal(cseqOf(reinviteOfA), 2);
    await settle();
    const [key = ''] = store.allKeys();
    const stored = await store.get(key);
    assert.ok(stored);
    const snapshot = decodeSnapshot(stored.value);
    const b1 = snapshot.legs.find((l) => l.name === 'b1');
    assert.deepEqual(snapshot.legs.find((l) => l.name === 'a')?.transactions, [{ method: 'INVITE', cseq: 2, side: 'inbound' }]);
    assert.deepEqual(b1?.transactions, [{ method: 'INVITE', cseq: 2, side: 'outbound' }]);
    assert.equal(b1?.cseqReservation, 2 + CSEQ_RESERVATION);
    console.log(`snapshot of an answered call mid re-INVITE: ${stored.value.length} bytes`);

    // worker B adopts the slot
    const b = worker(store, 'w2');
    t.after(() => b.h.kernel.shutdown());
    assert.equal(b.limiter.held().size, 0);
    const adoption = await b.adopter.adoptSlot(snapshot.slot);
    assert.deepEqual(adoption, { calls: 1, unreadable: 0 });
    await settle();
    assert.deepEqual([...b.limiter.held()], [['trunk.acme', 1]], 'the hold moved to B');
    assert.equal(b.h.ctx.calls.size, 1);

    // the carrier's late 2xx to A's re-INVITE: ACKed from the dialog, with the 2xx's CSeq
    deliver(b.h.engine, answer(reinviteOfA, 200, { sdp: SDP_B }), C1);
    await settle();
    const ack = one(b.h, C1, isReq('ACK'), 'the late 2xx is ACKed');
    assert.equal(cseqOf(ack), 2);
    // the PBX retransmits the re-INVITE A never answered: 500 + Retry-After (RFC 3261 §14.2)
    deliver(b.h.engine, fromA(ok, 'INVITE', 2, ['Contact: <sip:pbx@127.0.0.1:5071>']), A_PORT);
    await settle();
    const retry = takeFinal(b.h, A_PORT);
    assert.equal(retry.status, 500);
    assert.equal(retry.headers.get('retry-after'), '1');

    // a new re-INVITE from the PBX: relayed with a CSeq above the reservation
    deliver(b.h.engine, fromA(ok, 'INVITE', 3, ['Contact: <sip:pbx@127.0.0.1:5071>', 'Content-Type: application/sdp'], 'v=0\r\no=pbx 1 3 IN IP4 192.0.2.10\r\n'), A_PORT);
    await settle();
    const reinviteOfB = takeInvite(b.h, C1);
    assert.ok(cseqOf(reinviteOfB) > 2 + CSEQ_RESERVATION, `CSeq ${cseqOf(reinviteOfB)} above every one A used`);
    deliver(b.h.engine, answer(reinviteOfB, 200, { sdp: SDP_B }), C1);
    await settle();
    assert.equal(cseqOf(one(b.h, C1, isReq('ACK'), 'ACK of the new re-INVITE')), cseqOf(reinviteOfB));
    const reinviteOk = takeFinal(b.h, A_PORT);
    assert.equal(reinviteOk.status, 200);
    deliver(b.h.engine, fromA(ok, 'ACK', 3), A_PORT);

    // an UPDATE from the PBX, then one from the carrier: each relayed with a growing CSeq
    deliver(b.h.engine, fromA(ok, 'UPDATE', 4), A_PORT);
    await settle();
    const updateToB = one(b.h, C1, isReq('UPDATE'), 'UPDATE relayed to the carrier');
    assert.ok(cseqOf(updateToB) > cseqOf(reinviteOfB));
    deliver(b.h.engine, answer(updateToB, 200), C1);
    await settle();
    assert.equal(takeFinal(b.h, A_PORT).status, 200);
    deliver(b.h.engine, fromB(bInvite, 'UPDATE', 1), C1);
    await settle();
    const updateToA = one(b.h, A_PORT, isReq('UPDATE'), 'UPDATE relayed to the PBX');
    assert.ok(cseqOf(updateToA) > CSEQ_RESERVATION, 'the a-leg starts above its reservation too');
    deliver(b.h.engine, answer(updateToA, 200, { port: A_PORT }), A_PORT);
    await settle();
    assert.equal(takeFinal(b.h, C1).status, 200);
    // a re-INVITE from the carrier
    deliver(b.h.engine, fromB(bInvite, 'INVITE', 2), C1);
    await settle();
    const reinviteToA = takeInvite(b.h, A_PORT);
    assert.ok(cseqOf(reinviteToA) > cseqOf(updateToA));
    deliver(b.h.engine, answer(reinviteToA, 200, { port: A_PORT }), A_PORT);
    await settle();
    assert.equal(takeFinal(b.h, C1).status, 200);

    // the carrier hangs up: 200 to it, BYE to the PBX
    deliver(b.h.engine, fromB(bInvite, 'BYE', 3), C1);
    await settle();
    assert.equal(takeFinal(b.h, C1).status, 200);
    const bye = one(b.h, A_PORT, isReq('BYE'), 'BYE to the PBX');
    assert.ok(cseqOf(bye) > cseqOf(reinviteToA));
    deliver(b.h.engine, answer(bye, 200, { port: A_PORT }), A_PORT);
    await settle();
    assert.equal(b.limiter.held().size, 0, 'the hold released');
    b.h.ctx.cdr.tell({ flush: true });
    await settle();
    assert.equal(b.h.records.length, 1, 'one record');
    const [record] = b.h.records;
    assert.equal(record?.startedAt, snapshot.startedAt);
    // the record's times are its ledger's, carried in the snapshot (the call's own answeredAt may
    // be a millisecond apart: another clock reading)
    const answeredEvent = snapshot.records.find((e) => e.type === 'answered');
    assert.ok(answeredEvent && 'at' in answeredEvent);
    assert.equal(record?.answeredAt, answeredEvent.at);
    assert.ok((record?.endedAt ?? 0) >= (snapshot.answeredAt ?? Number.POSITIVE_INFINITY));
    assert.equal(record?.endedBy, 'callee');
    assert.equal(record?.takenOver?.from, 'w1');
    assert.equal(store.size, 0, 'the snapshot deleted when the call ended');
    assert.ok(isRes(200)(reinviteOk));
  });

  test('a plain call (invite, answer, bye): written once confirmed, deleted at its end; early calls never', async (t) => {
    const store = new MemoryDialogStore();
    const a = worker(store, 'w1');
    t.after(() => a.h.kernel.shutdown());
    let sizes: number[] = [];
    const put = store.put.bind(store);
    store.put = (key, value, previous) => ((sizes = [...sizes, value.length]), put(key, value, previous));
    const { ok } = await establish(a.h);
    await settle();
    assert.equal(a.h.ctx.counters.get('snapshots.written'), 1);
    console.log(`snapshot of a plain answered call: ${sizes[0]} bytes`);
    await hangUp(a.h, ok);
    await settle();
    console.log(`KV writes of a plain call: ${a.h.ctx.counters.get('snapshots.written')} put(s) + 1 delete`);
    assert.equal(store.size, 0);
    assert.ok(a.h.ctx.counters.get('snapshots.written') <= 2);
  });

  test('the adopter keeps the call\'s maximum duration, counted from its answer on the dead worker', async (t) => {
    const store = new MemoryDialogStore();
    const config = trunking([carrier('carrierB', C1)], { restrictions: { maxConcurrent: 5, maxCallSeconds: 60 } });
    const a = worker(store, 'w1', config);
    t.after(() => a.h.kernel.shutdown());
    await establish(a.h);
    await settle();
    const [key = ''] = store.allKeys();
    const snapshot = decodeSnapshot((await store.get(key))?.value ?? new Uint8Array());
    const b = worker(store, 'w2', config);
    t.after(() => b.h.kernel.shutdown());
    const armed: number[] = [];
    const add = b.h.ctx.deadlines.add.bind(b.h.ctx.deadlines);
    b.h.ctx.deadlines.add = (atMs, target) => (armed.push(atMs), add(atMs, target));
    assert.deepEqual(await b.adopter.adoptSlot(snapshot.slot), { calls: 1, unreadable: 0 });
    await settle();
    assert.deepEqual(armed, [(snapshot.answeredAt ?? NaN) + 60_000], 'armed once, from the answer, not from the adoption');
    assert.equal(b.h.ctx.deadlines.size, 1);
  });

  test('dropSlot: the slot\'s calls stop without a word, no record, their hold leaves this worker\'s share', async (t) => {
    const store = new MemoryDialogStore();
    const a = worker(store, 'w1');
    t.after(() => a.h.kernel.shutdown());
    await establish(a.h);
    await settle();
    const [key = ''] = store.allKeys();
    a.h.link.sent.length = 0;
    assert.equal(a.adopter.dropSlot(Number(key.split('.')[0])), 1);
    await settle();
    assert.equal(a.h.link.sent.length, 0, 'no SIP');
    assert.equal(a.h.ctx.calls.size, 0);
    assert.equal(a.limiter.held().size, 0);
    a.h.ctx.cdr.tell({ flush: true });
    await settle();
    assert.equal(a.h.records.length, 0, 'the new owner makes the record');
    assert.equal(store.size, 1, 'the new owner has the snapshot');
  });

  test('an unreadable snapshot is refused with a log and counted; the slot\'s other calls are adopted', async (t) => {
    const store = new MemoryDialogStore();
    await store.put('9.0000000000000001', new Uint8Array([0x81, 0xa1, 0x76, 0x00]), undefined);
    const b = worker(store, 'w2');
    t.after(() => b.h.kernel.shutdown());
    assert.deepEqual(await b.adopter.adoptSlot(9), { calls: 0, unreadable: 1 });
    assert.equal(b.h.ctx.counters.get('snapshots.unreadable'), 1);
  });
});
