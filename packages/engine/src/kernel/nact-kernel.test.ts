import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ActorBehaviour } from './actor-kernel.js';
import { NactKernel, nactActorOf, NO_CHILDREN } from './nact-kernel.js';

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

class Recorder implements ActorBehaviour<string> {
  seen: string[] = [];
  crashes: [unknown, string][] = [];
  stops = 0;
  receive(m: string): void {
    if (m === 'boom') throw new Error('boom');
    this.seen.push(m);
  }
  crashed(err: unknown, m: string): void {
    this.crashes.push([err, m]);
  }
  stopped(): void {
    this.stops++;
  }
}

describe('NactKernel', () => {
  test('a quiet actor keeps neither children tables nor the Immediate of its last turn (nact internals as the kernel expects them)', async () => {
    const k = new NactKernel();
    const r = new Recorder();
    const a = k.spawn('leg-quiet', r);
    const actor = nactActorOf((a as unknown as { ref: Parameters<typeof nactActorOf>[0] }).ref);
    assert.ok(actor !== undefined, 'nact\'s actor has the fields the kernel trims');
    assert.equal(actor.children, NO_CHILDREN);
    assert.equal(actor.childReferences, NO_CHILDREN);
    for (let i = 0; i < 5; i++) a.tell(String(i));
    for (let i = 0; i < 10 && r.seen.length < 5; i++) await settle();
    assert.equal(r.seen.length, 5);
    assert.equal(actor.immediate, undefined);
    k.stop('leg-quiet');
    await settle();
    assert.equal(r.stops, 1);
    k.shutdown();
  });

  test('messages reach an actor in order, one at a time', async () => {
    const k = new NactKernel();
    const r = new Recorder();
    const a = k.spawn('leg-1', r);
    for (let i = 0; i < 100; i++) a.tell(String(i));
    // nact handles one message per turn of the event loop for each actor
    for (let i = 0; i < 50 && r.seen.length < 100; i++) await settle();
    assert.deepEqual(r.seen, Array.from({ length: 100 }, (_, i) => String(i)));
    k.shutdown();
  });

  test('actors are named by the id we give; a second actor with the same id is refused', () => {
    const k = new NactKernel();
    k.spawn('call-abc', new Recorder());
    assert.throws(() => k.spawn('call-abc', new Recorder()), /exists/);
    assert.ok(k.find('call-abc'));
    k.shutdown();
  });

  test('supervision: an actor that throws goes to crashed() with the message, then stops and is forgotten', async () => {
    const k = new NactKernel();
    const r = new Recorder();
    const a = k.spawn('leg-2', r);
    a.tell('boom');
    a.tell('after');
    await settle();
    assert.equal(r.crashes.length, 1);
    assert.equal(r.crashes[0]?.[1], 'boom');
    assert.deepEqual(r.seen, [], 'nothing is handled after the crash');
    assert.equal(k.find('leg-2'), undefined);
    assert.equal(k.size, 0);
    k.shutdown();
  });

  test('10,000 actors live side by side under the quiet supervisor and all stop cleanly', async () => {
    const k = new NactKernel();
    const rs: Recorder[] = [];
    for (let i = 0; i < 10_000; i++) {
      const r = new Recorder();
      rs.push(r);
      k.spawn(`leg-${i}`, r).tell('hello');
    }
    assert.equal(k.size, 10_000);
    await settle();
    assert.ok(rs.every((r) => r.seen.length === 1));
    for (let i = 0; i < 10_000; i++) k.stop(`leg-${i}`);
    await settle();
    assert.equal(k.size, 0);
    assert.ok(rs.every((r) => r.stops === 1));
    k.shutdown();
  });
});

describe('NactKernel: shutdown', () => {
  test('every actor is released before shutdown returns (its timers cannot outlive it), and only once', async () => {
    const k = new NactKernel();
    const rs = [new Recorder(), new Recorder(), new Recorder()];
    rs.forEach((r, i) => k.spawn(`leg-${i}`, r).tell('hello'));
    await settle();
    k.shutdown();
    assert.deepEqual(rs.map((r) => r.stops), [1, 1, 1], 'stopped() ran within shutdown()');
    assert.equal(k.size, 0);
    await settle();
    assert.deepEqual(rs.map((r) => r.stops), [1, 1, 1], 'not again when nact gets round to it');
  });

  test('an actor whose stopped() throws does not keep the others from being released', () => {
    const k = new NactKernel();
    const failing = new Recorder();
    failing.stopped = () => {
      throw new Error('release failed');
    };
    const other = new Recorder();
    k.spawn('leg-a', failing);
    k.spawn('leg-b', other);
    assert.throws(() => k.shutdown(), /release failed/);
    assert.equal(other.stops, 1);
  });
});

describe('NactKernel: stopped actors', () => {
  test('telling an actor that has stopped or crashed is a no-op, not an exception', async () => {
    const k = new NactKernel();
    const r = new Recorder();
    const a = k.spawn('leg-3', r);
    a.tell('boom');
    await settle();
    assert.doesNotThrow(() => a.tell('late'));
    const b = k.spawn('leg-4', new Recorder());
    k.stop('leg-4');
    assert.doesNotThrow(() => b.tell('late'));
    await settle();
    k.shutdown();
  });
});
