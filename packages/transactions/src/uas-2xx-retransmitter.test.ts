// The UAS core's 2xx retransmission (RFC 3261 §13.3.1.4) on virtual time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Effect } from './effects.js';
import { FakeClock } from './fake-clock.js';
import { request, response } from './fixtures.js';
import { timerSettings } from './timers.js';
import { Uas2xxRetransmitter, type Uas2xxRetransmitterEvent } from './uas-2xx-retransmitter.js';

const types = (effects: readonly Effect[]): string[] => effects.map((e) => (e.type === 'start-timer' || e.type === 'cancel-timer' ? `${e.type} ${e.timer}` : e.type));

function started(timers = timerSettings()): { r: Uas2xxRetransmitter; clock: FakeClock<Uas2xxRetransmitterEvent> } {
  const r = new Uas2xxRetransmitter(response(request(), 200), timers);
  const clock = new FakeClock<Uas2xxRetransmitterEvent>(r);
  clock.dispatch({ type: 'start' });
  return { r, clock };
}

describe('Uas2xxRetransmitter', () => {
  test('start arms the timers without sending (the transaction sent the 2xx once)', () => {
    const r = new Uas2xxRetransmitter(response(request(), 200));
    assert.equal(r.state, 'Retransmitting');
    assert.deepEqual(r.handle({ type: 'start' }), [
      { type: 'start-timer', timer: '2xx-retransmit', ms: 500 },
      { type: 'start-timer', timer: '2xx-timeout', ms: 32_000 },
    ]);
    assert.deepEqual(r.handle({ type: 'start' }), []);
    assert.deepEqual(r.handle({ type: 'timer', timer: 'L' }), [], 'a timer that is not armed is ignored');
  });

  test('retransmits at 500, 1000, 2000, 4000, 4000... ms; no ACK in 64*T1: ack-timeout, Terminated', () => {
    const { r, clock } = started();
    clock.advance(31_999);
    assert.deepEqual(clock.sendTimes(), [500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    assert.deepEqual(clock.sendIntervals(), [1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000]);
    assert.ok(clock.ofType('send').every((t) => t.effect.message === r.response));
    assert.equal(r.state, 'Retransmitting');
    clock.advance(1);
    assert.deepEqual(types(clock.log.filter((t) => t.at === 32_000).map((t) => t.effect)), ['cancel-timer 2xx-retransmit', 'ack-timeout', 'terminated']);
    assert.equal(r.state, 'Terminated');
  });

  test('the ACK stops it', () => {
    const { r, clock } = started();
    clock.advance(2000);
    const effects = types(clock.dispatch({ type: 'ack' }));
    assert.deepEqual(effects.slice(0, 2).sort(), ['cancel-timer 2xx-retransmit', 'cancel-timer 2xx-timeout'], 'both timers cancelled, in any order');
    assert.deepEqual(effects.slice(2), ['terminated']);
    assert.equal(r.state, 'Terminated');
    clock.advance(60_000);
    assert.deepEqual(clock.sendTimes(), [500, 1500]);
    assert.equal(clock.ofType('ack-timeout').length, 0);
    assert.deepEqual(r.handle({ type: 'ack' }), []);
    assert.deepEqual(r.handle({ type: 'timer', timer: '2xx-retransmit' }), []);
  });

  test('stop ends it without an ack-timeout', () => {
    const { r, clock } = started();
    assert.deepEqual(types(clock.dispatch({ type: 'stop' })), ['cancel-timer 2xx-retransmit', 'cancel-timer 2xx-timeout', 'terminated']);
    assert.equal(r.state, 'Terminated');
  });

  test('follows the configured T1 and T2', () => {
    const { clock } = started(timerSettings({ t1: 100, t2: 300 }));
    clock.runUntilIdle();
    assert.deepEqual(clock.sendIntervals().slice(0, 4), [200, 300, 300, 300]);
    assert.equal(clock.sendTimes()[0], 100);
    assert.deepEqual(clock.ofType('ack-timeout').map((t) => t.at), [6400]);
  });

  test('only a 2xx can be retransmitted', () => {
    assert.throws(() => new Uas2xxRetransmitter(response(request(), 486)), TypeError);
    assert.throws(() => new Uas2xxRetransmitter(response(request(), 180)), TypeError);
  });
});
