// A worker dies while a blind transfer rings: the adopter tells the transferor the transfer failed
// (its final NOTIFY), the record says so, and the call between the original parties goes on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipRequest } from '@switchboard/sip';
import { A_PORT, B_PORT, answer, deliver, fromA, isReq, settle, type TestContext } from '../testing/harness.js';
import { bodyOf, both, callIdIs, engineWith, establish, refer, takeNewInvite, takeNotifyAndAnswer, takeOne, takeResponse } from '../testing/transfer-fixtures.js';
import { MemoryDialogStore } from './dialog-store.js';
import { decodeSnapshot } from './snapshot-codec.js';
import { SlotAdopter } from './slot-adopter.js';
import { STRAY_ANSWER_REASON } from './stray-answers.js';

function worker(store: MemoryDialogStore, id: string) {
  const h = engineWith();
  const ctx: TestContext = h.ctx;
  ctx.workerId = id;
  const adopter = new SlotAdopter(h.ctx, { store, maxInFlight: 8, maxPending: 100 });
  ctx.snapshots = adopter;
  return { h, adopter };
}

describe('worker takeover: a transfer running on the worker that died', () => {
  test('the snapshot keeps the running transfer; the adopter sends the transferor a final NOTIFY (503, terminated), records the transfer failed, and the call goes on', async (t) => {
    const store = new MemoryDialogStore();
    const a = worker(store, 'w1');
    t.after(() => a.h.kernel.shutdown());
    const call = await establish(a.h);
    await settle();
    await refer(a.h, call, undefined, 5);
    takeResponse(a.h, A_PORT, 202, 'REFER');
    await takeNotifyAndAnswer(a.h);
    const cInvite = takeNewInvite(a.h, call);
    deliver(a.h.engine, answer(cInvite, 180, { tag: 'ctag' }), B_PORT);
    await settle();
    const [key = ''] = store.allKeys();
    const stored = await store.get(key);
    assert.ok(stored);
    const snapshot = decodeSnapshot(stored.value);
    assert.deepEqual(snapshot.transfer && { transferor: snapshot.transfer.transferor, referCSeq: snapshot.transfer.referCSeq }, { transferor: 'a', referCSeq: 5 });
    assert.equal(snapshot.transfers[0]?.outcome, 'in-progress');
    const reservation = snapshot.legs.find((l) => l.name === 'a')?.cseqReservation ?? 0;

    // w1 dies; w2 adopts the slot
    const b = worker(store, 'w2');
    t.after(() => b.h.kernel.shutdown());
    await b.adopter.adoptSlot(snapshot.slot);
    await settle();
    const notify = takeOne<SipRequest>(b.h, A_PORT, isReq('NOTIFY'), 'final NOTIFY');
    assert.equal(bodyOf(notify).trim(), 'SIP/2.0 503 Service Unavailable');
    assert.equal(notify.headers.get('content-type'), 'message/sipfrag;version=2.0');
    assert.equal(notify.headers.get('event'), 'refer;id=5', 'names the REFER by its CSeq');
    assert.equal(notify.headers.get('subscription-state'), 'terminated;reason=noresource');
    assert.equal(notify.headers.callId, call.ok.headers.callId, 'in the REFER\'s dialog');
    assert.ok((notify.headers.cseq?.seq ?? 0) > reservation, 'above every CSeq the dead worker may have used');
    deliver(b.h.engine, answer(notify, 200), A_PORT);
    await settle();
    const [adopted] = b.h.ctx.calls.values();
    assert.ok(adopted && 'transferRecords' in adopted);
    assert.deepEqual((adopted as { transferRecords: readonly { outcome: string; status?: number }[] }).transferRecords.map((r) => [r.outcome, r.status]), [['failed', 503]]);

    // the target answers after the takeover: its 200 finds no leg, and is ACKed and ended
    deliver(b.h.engine, answer(cInvite, 200, { tag: 'ctag' }), B_PORT);
    await settle();
    assert.equal(b.h.link.take(B_PORT, both(isReq('ACK'), callIdIs(cInvite.headers.callId))).length, 1);
    const [bye] = b.h.link.take(B_PORT, both(isReq('BYE'), callIdIs(cInvite.headers.callId)));
    assert.equal(bye?.headers.get('reason'), STRAY_ANSWER_REASON);

    // the original parties are still connected: the PBX's UPDATE reaches the carrier, and its BYE ends the call
    deliver(b.h.engine, fromA(call.ok, 'UPDATE', 6), A_PORT);
    await settle();
    const update = takeOne<SipRequest>(b.h, B_PORT, both(isReq('UPDATE'), callIdIs(call.bInvite.headers.callId)), 'UPDATE to the carrier');
    deliver(b.h.engine, answer(update, 200), B_PORT);
    await settle();
    deliver(b.h.engine, fromA(call.ok, 'BYE', 7), A_PORT);
    await settle();
    const byeB = takeOne<SipRequest>(b.h, B_PORT, both(isReq('BYE'), callIdIs(call.bInvite.headers.callId)), 'BYE to the carrier');
    deliver(b.h.engine, answer(byeB, 200), B_PORT);
    await settle();
    b.h.ctx.cdr.tell({ flush: true });
    await settle();
    const transferRecord = b.h.records.find((r) => r.parentId !== undefined);
    assert.ok(transferRecord, 'the transfer\'s record');
    assert.equal(transferRecord.status, 503);
    assert.equal(transferRecord.endedBy, 'system');
    assert.equal(b.h.records.filter((r) => r.parentId === undefined).length, 1, 'one record of the call');
    assert.equal(b.h.ctx.counters.get('transfer.lost-at-takeover'), 1);
  });
});
