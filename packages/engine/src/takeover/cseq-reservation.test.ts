// RFC 3261 §12.2.2 across takeovers: a peer accepts a gap in our CSeq numbers, never a reuse. An
// adopter reserves a block of its own before it sends anything (so a second adopter starts above
// it), and no leg sends above the reservation of the snapshot in the bucket: it waits for the
// next write to land (bounded).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipMessage } from '@switchboard/sip';
import { LocalCallLimiter } from '@switchboard/limits';
import { A_PORT, answer, deliver, fromA, isReq, settle, type TestContext } from '../testing/harness.js';
import { C1, engineWith, establish, trunking, carrier } from '../testing/call-fixtures.js';
import { GatedStore } from '../testing/gated-store.js';
import { VirtualTime } from '../testing/virtual-time.js';
import { CSEQ_HOLD_MS } from '../dialog/transaction-driver.js';
import { CSEQ_RESERVATION } from './call-snapshot.js';
import { MemoryDialogStore, type DialogStore } from './dialog-store.js';
import { decodeSnapshot } from './snapshot-codec.js';
import { SlotAdopter } from './slot-adopter.js';

function worker(store: DialogStore, id: string) {
  const h = engineWith(trunking([carrier('carrierB', C1)]), { limiter: new LocalCallLimiter() });
  const ctx: TestContext = h.ctx;
  ctx.workerId = id;
  const adopter = new SlotAdopter(h.ctx, { store, maxInFlight: 8, maxPending: 100 });
  ctx.snapshots = adopter;
  return { h, adopter };
}

const cseqOf = (m: SipMessage | undefined) => m?.headers.cseq?.seq ?? -1;

async function reservationOf(store: MemoryDialogStore, leg: string): Promise<number> {
  const [key = ''] = store.allKeys();
  const stored = await store.get(key);
  assert.ok(stored);
  return decodeSnapshot(stored.value).legs.find((l) => l.name === leg)?.cseqReservation ?? -1;
}

describe('CSeq reservations across takeovers', () => {
  test('two adoptions in a row: the second adopter starts above every number the first may have used, though the first died before any write of its own', async (t) => {
    const store = new MemoryDialogStore();
    const a = worker(store, 'w1');
    t.after(() => a.h.kernel.shutdown());
    const { ok } = await establish(a.h);
    await settle();
    const reservedByA = await reservationOf(store, 'b1');
    assert.equal(reservedByA, 1 + CSEQ_RESERVATION);

    const bStore = new GatedStore(store);
    const b = worker(bStore, 'w2');
    t.after(() => b.h.kernel.shutdown());
    const slot = Number(store.allKeys()[0]?.split('.')[0]);
    await b.adopter.adoptSlot(slot);
    assert.equal(await reservationOf(store, 'b1'), reservedByA + CSEQ_RESERVATION, 'the adoption\'s rewrite reserves a block of B\'s own');
    // B relays an UPDATE, and dies before the snapshot it asks for lands
    bStore.held = true;
    deliver(b.h.engine, fromA(ok, 'UPDATE', 2), A_PORT);
    await settle();
    const [updateOfB] = b.h.link.take(C1, isReq('UPDATE'));
    assert.equal(cseqOf(updateOfB), reservedByA + 1, 'B starts just above A\'s reservation');

    const c = worker(store, 'w3');
    t.after(() => c.h.kernel.shutdown());
    assert.deepEqual(await c.adopter.adoptSlot(slot), { calls: 1, unreadable: 0 });
    deliver(c.h.engine, fromA(ok, 'UPDATE', 3), A_PORT);
    await settle();
    const [updateOfC] = c.h.link.take(C1, isReq('UPDATE'));
    assert.ok(cseqOf(updateOfC) > reservedByA + CSEQ_RESERVATION, `C's CSeq ${cseqOf(updateOfC)} above every one B may have used`);
  });

  test('a request that would cross the reservation in the bucket waits for the next write to land; a write that never lands holds it at most CSEQ_HOLD_MS', async (t) => {
    const clock = new VirtualTime(t);
    const store = new MemoryDialogStore();
    const gated = new GatedStore(store);
    const a = worker(gated, 'w1');
    t.after(() => a.h.kernel.shutdown());
    const { ok } = await establish(a.h);
    await settle();
    const reserved = await reservationOf(store, 'b1');
    gated.held = true; // a slow bucket from here on
    let seq = 2;
    const relay = async () => {
      deliver(a.h.engine, fromA(ok, 'UPDATE', seq++), A_PORT);
      await settle();
      const sent = a.h.link.take(C1, isReq('UPDATE'));
      for (const u of sent) deliver(a.h.engine, answer(u, 200), C1);
      await settle();
      return sent;
    };
    for (let n = 2; n <= reserved; n++) assert.equal(cseqOf((await relay())[0]), n, `UPDATE ${n} goes: within the reservation`);
    assert.equal((await relay()).length, 0, 'the one above the reservation waits');
    assert.equal(a.h.ctx.counters.get('snapshots.cseq-held'), 1);
    gated.release();
    await settle();
    const [released] = a.h.link.take(C1, isReq('UPDATE'));
    assert.equal(cseqOf(released), reserved + 1, 'sent once the write with a new reservation landed');
    assert.ok(await reservationOf(store, 'b1') >= reserved + 1, 'and the bucket\'s reservation covers it');
    deliver(a.h.engine, answer(released!, 200), C1);
    await settle();

    // a bucket that stops answering: the next request past the (new) reservation goes after the bound, counted
    gated.held = true;
    const limit = await reservationOf(store, 'b1');
    for (let last = cseqOf(released); last < limit; ) {
      const [u] = await relay();
      assert.ok(u, `UPDATE ${last + 1} goes`);
      last = cseqOf(u);
    }
    assert.equal((await relay()).length, 0, 'held');
    await clock.advance(CSEQ_HOLD_MS + 10, 50);
    assert.equal(a.h.link.take(C1, isReq('UPDATE')).length, 1, 'sent after the bound');
    assert.equal(a.h.ctx.counters.get('snapshots.cseq-unreserved'), 1);
    gated.release();
  });
});
