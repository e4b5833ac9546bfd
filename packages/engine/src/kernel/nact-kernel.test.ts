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

  test('every actor shares one handler and one afterStop, its cell as nact\'s state: no closures made per actor', () => {
    const k = new NactKernel();
    const [a, b] = ['leg-x', 'leg-y'].map((id) => k.spawn(id, new Recorder()));
    const internals = [a, b].map((r) => (r as unknown as { ref: object }).ref).map((ref) => nactActorOf(ref as never) as unknown as { f: unknown; afterStop: unknown; state: unknown });
    assert.equal(internals[0]?.f, internals[1]?.f);
    assert.equal(internals[0]?.afterStop, internals[1]?.afterStop);
    assert.equal(internals[0]?.state, a);
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

/** An actor that runs `act` for each message, with the kernel to tell others through. */
class Scripted implements ActorBehaviour<string> {
  seen: string[] = [];
  crashes: string[] = [];
  constructor(private readonly act: (m: string) => void) {}
  receive(m: string): void {
    this.seen.push(m);
    this.act(m);
  }
  crashed(_err: unknown, m: string): void {
    this.crashes.push(m);
  }
}

describe('NactKernel: what an actor tells is handled in the same turn (issue 17)', () => {
  test('a message told within a turn is handled before the next turn of the event loop, after the teller returns', async () => {
    const k = new NactKernel();
    const order: string[] = [];
    const b = k.spawn('leg-b', new Scripted((m) => order.push(`b ${m}`)));
    const a = k.spawn('call-a', new Scripted(() => {
      setImmediate(() => order.push('next turn'));
      b.tell('x');
      order.push('a returns');
    }));
    a.tell('go');
    await settle();
    assert.deepEqual(order, ['a returns', 'b x', 'next turn']);
    k.shutdown();
  });

  test('a chain leg → call → leg runs in one turn; an actor still gets its messages one at a time, in order', async () => {
    const k = new NactKernel();
    const order: string[] = [];
    const out = k.spawn('leg-out', new Scripted((m) => order.push(`out ${m}`)));
    const call = k.spawn('call-1', new Scripted((m) => {
      order.push(`call ${m}`);
      out.tell(`${m}/1`);
      out.tell(`${m}/2`);
    }));
    const inLeg = k.spawn('leg-in', new Scripted((m) => {
      call.tell(m);
      call.tell(`${m}'`);
    }));
    inLeg.tell('invite');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['call invite', "call invite'", 'out invite/1', 'out invite/2', "out invite'/1", "out invite'/2"]);
    k.shutdown();
  });

  test('messages waiting in nact for an actor are handled before one told to it within a turn', async () => {
    const k = new NactKernel();
    const b = new Scripted(() => undefined);
    const bRef = k.spawn('leg-b', b);
    const a = k.spawn('call-a', new Scripted(() => bRef.tell('from a')));
    bRef.tell('from outside 1');
    a.tell('go');
    bRef.tell('from outside 2');
    await settle();
    // 'from a' was told while the two outside messages waited in nact: it waits behind them
    assert.deepEqual(b.seen, ['from outside 1', 'from outside 2', 'from a']);
    k.shutdown();
  });

  test('an actor that throws on a message handled within a turn goes to crashed() and stops; the teller and the rest of the turn go on', async () => {
    const k = new NactKernel();
    const c = new Scripted(() => undefined);
    const cRef = k.spawn('leg-c', c);
    const b = new Scripted((m) => {
      if (m === 'boom') throw new Error('boom');
    });
    const bRef = k.spawn('leg-b', b);
    const a = new Scripted(() => {
      bRef.tell('boom');
      bRef.tell('after');
      cRef.tell('still');
    });
    k.spawn('call-a', a).tell('go');
    await settle();
    assert.deepEqual(b.crashes, ['boom']);
    assert.deepEqual(b.seen, ['boom'], 'nothing is handled after the crash');
    assert.equal(k.find('leg-b'), undefined);
    assert.deepEqual(c.seen, ['still']);
    assert.deepEqual(a.crashes, []);
    assert.ok(k.find('call-a'));
    k.shutdown();
  });

  test('two actors telling each other without end do not hold the event loop: past a bound the rest goes through nact', async () => {
    const k = new NactKernel();
    let count = 0;
    const refs: { a?: { tell(m: string): void }; b?: { tell(m: string): void } } = {};
    refs.a = k.spawn('leg-ping', new Scripted(() => count < 2_000 && (count++, refs.b?.tell('ping'))));
    refs.b = k.spawn('leg-pong', new Scripted(() => count < 2_000 && (count++, refs.a?.tell('pong'))));
    refs.a.tell('start');
    let atNextTurn = -1;
    setImmediate(() => (atNextTurn = count));
    for (let i = 0; i < 100 && count < 2_000; i++) await settle();
    assert.ok(atNextTurn > 0 && atNextTurn < 2_000, `another turn ran meanwhile (at ${atNextTurn})`);
    assert.equal(count, 2_000);
    k.shutdown();
  });
});
