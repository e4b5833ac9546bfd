// What an adopter answers that its snapshots cannot carry on: a peer's request the dead worker
// had not answered (RFC 3261 §14.2: 500 with Retry-After, the peer retries cleanly), and a
// snapshot of another version (refused with a log line an operator can act on, never guessed).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { LocalCallLimiter } from '@switchboard/limits';
import { encodeMap } from '@switchboard/wire';
import { A_PORT, answer, deliver, fromA, isReq, settle, type TestContext } from '../testing/harness.js';
import { C1, carrier, engineWith, establish, takeFinal, trunking, fromCarrier } from '../testing/call-fixtures.js';
import { MemoryDialogStore } from './dialog-store.js';
import { decodeSnapshot } from './snapshot-codec.js';
import { SlotAdopter } from './slot-adopter.js';

function worker(store: MemoryDialogStore, id: string) {
  const h = engineWith(trunking([carrier('carrierB', C1)]), { limiter: new LocalCallLimiter() });
  const ctx: TestContext = h.ctx;
  ctx.workerId = id;
  const lines: Record<string, unknown>[] = [];
  ctx.log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const adopter = new SlotAdopter(h.ctx, { store, maxInFlight: 8, maxPending: 100 });
  ctx.snapshots = adopter;
  return { h, adopter, lines };
}

describe('worker takeover: what an adopter cannot carry on', () => {
  test('an UPDATE the dead worker had relayed and not answered: its retransmission gets 500 with Retry-After from the adopter, from either party; a new UPDATE goes through', async (t) => {
    const store = new MemoryDialogStore();
    const a = worker(store, 'w1');
    t.after(() => a.h.kernel.shutdown());
    const { bInvite, ok } = await establish(a.h);
    const updateOfPbx = fromA(ok, 'UPDATE', 2);
    deliver(a.h.engine, updateOfPbx, A_PORT);
    const updateOfCarrier = fromCarrier(bInvite, 'UPDATE', 1);
    deliver(a.h.engine, updateOfCarrier, C1);
    await settle();
    assert.equal(a.h.link.take(C1, isReq('UPDATE')).length, 1, 'relayed to the carrier, which has not answered');
    assert.equal(a.h.link.take(A_PORT, isReq('UPDATE')).length, 1, 'relayed to the PBX, which has not answered');
    await settle();
    const [key = ''] = store.allKeys();
    const snapshot = decodeSnapshot((await store.get(key))?.value ?? new Uint8Array());
    assert.deepEqual(snapshot.legs.map((l) => [l.name, l.transactions.filter((x) => x.side === 'inbound')]), [
      ['a', [{ method: 'UPDATE', cseq: 2, side: 'inbound' }]],
      ['b1', [{ method: 'UPDATE', cseq: 1, side: 'inbound' }]],
    ]);

    const b = worker(store, 'w2');
    t.after(() => b.h.kernel.shutdown());
    await b.adopter.adoptSlot(snapshot.slot);
    deliver(b.h.engine, updateOfPbx, A_PORT);
    deliver(b.h.engine, updateOfCarrier, C1);
    await settle();
    for (const [port, who] of [[A_PORT, 'PBX'], [C1, 'carrier']] as const) {
      const retry = takeFinal(b.h, port);
      assert.equal(retry.status, 500, `the ${who}'s retransmission: 500`);
      assert.equal(retry.headers.get('retry-after'), '1');
      assert.equal(retry.headers.cseq?.method, 'UPDATE');
    }
    assert.equal(b.h.link.sent.filter((s) => isReq('UPDATE')(s.message)).length, 0, 'nothing relayed for them');
    // the PBX retries with a new UPDATE: relayed and answered as any other
    deliver(b.h.engine, fromA(ok, 'UPDATE', 3), A_PORT);
    await settle();
    const [relayed] = b.h.link.take(C1, isReq('UPDATE'));
    assert.ok(relayed, 'the new UPDATE relayed');
    deliver(b.h.engine, answer(relayed, 200), C1);
    await settle();
    assert.equal(takeFinal(b.h, A_PORT).status, 200);
  });

  test('a snapshot of an older version: refused with an error log naming the key, the slot and why; counted; the adoption goes on', async (t) => {
    const store = new MemoryDialogStore();
    await store.put('9.00000000000000aa', encodeMap({ v: 0, callId: '00000000000000aa', slot: 9 }), undefined);
    const b = worker(store, 'w2');
    t.after(() => b.h.kernel.shutdown());
    assert.deepEqual(await b.adopter.adoptSlot(9), { calls: 0, unreadable: 1 });
    const refused = b.lines.filter((l) => l.event === 'snapshot-unreadable');
    assert.equal(refused.length, 1, 'one log line');
    const [line] = refused;
    assert.equal(line?.level, 50, 'at error level');
    assert.equal(line?.key, '9.00000000000000aa');
    assert.equal(line?.slot, 9);
    assert.equal(line?.code, 'version');
    assert.match(String(line?.msg), /^snapshot 9\.00000000000000aa refused \(call snapshot version: version 0, this worker reads .* only\): its call cannot be carried on$/);
    assert.equal(b.h.ctx.counters.get('snapshots.unreadable'), 1);
  });
});
