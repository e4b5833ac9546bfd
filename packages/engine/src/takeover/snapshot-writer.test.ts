import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { Counters } from '../metrics/counters.js';
import { settle } from '../testing/harness.js';
import { VirtualTime } from '../testing/virtual-time.js';
import { snapshotKey, type CallSnapshot } from './call-snapshot.js';
import { MemoryDialogStore, RevisionConflict, type DialogStore, type StoredSnapshot } from './dialog-store.js';
import { decodeSnapshot } from './snapshot-codec.js';
import { SAMPLE } from './snapshot-codec.test.js';
import { SnapshotWriter, type SnapshotSource } from './snapshot-writer.js';

/** A store whose writes wait until the test lets them land. */
class SlowStore implements DialogStore {
  readonly inner = new MemoryDialogStore();
  readonly held: (() => void)[] = [];
  puts = 0;
  async put(key: string, value: Uint8Array, previous: number | undefined): Promise<number> {
    this.puts++;
    await new Promise<void>((resolve) => this.held.push(resolve));
    return this.inner.put(key, value, previous);
  }
  get(key: string): Promise<StoredSnapshot | undefined> {
    return this.inner.get(key);
  }
  delete(key: string, previous: number): Promise<void> {
    return this.inner.delete(key, previous);
  }
  keys(prefix: string): Promise<string[]> {
    return this.inner.keys(prefix);
  }
  release(): void {
    for (const r of this.held.splice(0)) r();
  }
}

function source(callId: string, slot = 7): SnapshotSource & { version: number; captures: number } {
  return {
    callId, slot, version: 0, captures: 0,
    capture() {
      this.captures++;
      const snapshot: Omit<CallSnapshot, 'records'> = { ...SAMPLE, callId, slot, answeredAt: this.version };
      return snapshot;
    },
  };
}

function writer(store: DialogStore, o: { maxInFlight?: number; maxPending?: number } = {}) {
  const counters = new Counters();
  const fenced: [number, string][] = [];
  const w = new SnapshotWriter({
    store, counters, log: pino({ level: 'silent' }),
    records: async () => [{ type: 'started', at: 1, sipCallId: 'x' }],
    maxInFlight: o.maxInFlight ?? 4, maxPending: o.maxPending ?? 100,
    onFenced: (slot, callId) => fenced.push([slot, callId]),
  });
  return { w, counters, fenced };
}

describe('snapshot writer', () => {
  test('writes a tracked call on a later turn, with its record events, and deletes it when it ends', async () => {
    const store = new MemoryDialogStore();
    const { w, counters } = writer(store);
    const call = source('c1');
    w.track(call);
    assert.equal(call.captures, 0, 'nothing is captured in the turn that asked');
    await settle();
    const stored = await store.get(snapshotKey(7, 'c1'));
    assert.ok(stored);
    assert.deepEqual(decodeSnapshot(stored.value).records, [{ type: 'started', at: 1, sipCallId: 'x' }]);
    assert.equal(counters.get('snapshots.written'), 1);
    assert.equal(w.writesOf('c1'), 1);
    w.end('c1');
    await settle();
    assert.equal(store.size, 0);
  });

  test('requests while a write is in flight coalesce into one more write of the latest state', async () => {
    const store = new SlowStore();
    const { w } = writer(store);
    const call = source('c1');
    w.track(call);
    await settle();
    assert.equal(store.puts, 1);
    for (let i = 1; i <= 5; i++) {
      call.version = i;
      w.request('c1');
    }
    await settle();
    assert.equal(store.puts, 1, 'one write per call in flight');
    store.release();
    await settle();
    assert.equal(store.puts, 2, 'five requests, one more write');
    store.release();
    await settle();
    const stored = await store.get(snapshotKey(7, 'c1'));
    assert.equal(stored === undefined ? -1 : decodeSnapshot(stored.value).answeredAt, 5, 'the latest state wins');
  });

  test('bounded: at most maxInFlight writes at once, and past maxPending a request is dropped and counted', async () => {
    const store = new SlowStore();
    const { w, counters } = writer(store, { maxInFlight: 2, maxPending: 3 });
    for (let i = 0; i < 5; i++) w.track(source(`c${i}`));
    await settle();
    assert.equal(store.puts, 2);
    assert.equal(counters.get('snapshots.dropped'), 2, 'five asked, three could wait');
    store.release();
    await settle();
    assert.equal(store.puts, 3);
    store.release();
    await settle();
    assert.equal(store.inner.size, 3);
  });

  test('a compare-and-set that fails (another worker rewrote the call) is counted and fences the call', async () => {
    const store = new MemoryDialogStore();
    const { w, counters, fenced } = writer(store);
    w.track(source('c1'));
    await settle();
    const stored = await store.get(snapshotKey(7, 'c1'));
    assert.ok(stored);
    await store.put(snapshotKey(7, 'c1'), stored.value, stored.revision); // the adopter's rewrite
    w.request('c1');
    await settle();
    assert.equal(counters.get('snapshots.fenced'), 1);
    assert.deepEqual(fenced, [[7, 'c1']]);
    w.end('c1');
    await settle();
    assert.equal(store.size, 1, 'a fenced worker deletes nothing');
  });

  test('a stale delete is refused too', async () => {
    const store = new MemoryDialogStore();
    await assert.rejects(store.delete('x', 1), RevisionConflict);
  });

  test('flush writes every call of the slot and resolves once they landed', async () => {
    const store = new SlowStore();
    const { w } = writer(store);
    w.track(source('c1', 7));
    w.track(source('c2', 8));
    await settle();
    store.release();
    await settle();
    const before = store.puts;
    const flushed = w.flush(7, 1_000);
    let done = false;
    void flushed.then(() => (done = true));
    await settle();
    assert.equal(store.puts - before, 1, 'only slot 7');
    assert.equal(done, false);
    store.release();
    await settle();
    assert.equal(done, true);
  });

  test('flush rejects after its timeout', async () => {
    const store = new SlowStore();
    const { w } = writer(store);
    w.track(source('c1', 7));
    await assert.rejects(w.flush(7, 20), /not written within 20 ms/);
    store.release();
  });
  test('notBefore: a ringing call is not written before it is due, then once; one answered, ended or flushed sooner is written at once or never', async (t) => {
    // virtual time: a loaded machine pausing between two steps must not make a call due early
    const clock = new VirtualTime(t);
    const store = new MemoryDialogStore();
    const { w } = writer(store);
    const ringing = source('c-ringing');
    w.track(ringing, undefined, Date.now() + 60);
    w.request('c-ringing'); // its changes before it is due are not written either
    await settle();
    assert.equal(store.size, 0, 'not due yet');
    await clock.advance(50);
    assert.equal(store.size, 0, 'still not due');
    await clock.advance(20);
    assert.deepEqual(store.allKeys(), [snapshotKey(7, 'c-ringing')], 'written once due');
    assert.equal(w.writesOf('c-ringing'), 1);

    // answered before it is due: written at once (its confirmed form), no timer needed
    const answered = source('c-answered');
    w.track(answered, undefined, Date.now() + 60_000);
    w.expedite('c-answered');
    await settle();
    assert.equal(w.writesOf('c-answered'), 1);

    // failed before it is due: no write and no delete at all
    const failed = source('c-failed');
    w.track(failed, undefined, Date.now() + 30);
    w.end('c-failed');
    await clock.advance(50);
    assert.equal(failed.captures, 0, 'a call over before its early record never costs a write');
    assert.equal(store.allKeys().includes(snapshotKey(7, 'c-failed')), false);

    // a handover's flush writes a ringing call that is not due yet
    const handed = source('c-handed', 9);
    w.track(handed, undefined, Date.now() + 60_000);
    await w.flush(9, 1_000);
    assert.equal(w.writesOf('c-handed'), 1);
    assert.equal(store.allKeys().includes(snapshotKey(9, 'c-handed')), true);
  });
});
