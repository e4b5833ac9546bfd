// The non-INVITE client transaction (RFC 3261 §17.1.2) on virtual time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipRequest, SipResponse } from '@switchboard/sip';
import { ClientNonInviteTransaction, type ClientNonInviteEvent } from './client-non-invite-transaction.js';
import type { Effect } from './effects.js';
import { FakeClock } from './fake-clock.js';
import { request, response } from './fixtures.js';
import { timerSettings } from './timers.js';

function started(reliable: boolean, timers = timerSettings()): { tx: ClientNonInviteTransaction; clock: FakeClock<ClientNonInviteEvent>; bye: SipRequest } {
  const bye = request({ method: 'BYE', toTag: 'uas-tag-1', via: ['SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK-bye-1'] });
  const tx = new ClientNonInviteTransaction(bye, { reliable, timers });
  const clock = new FakeClock<ClientNonInviteEvent>(tx);
  clock.dispatch({ type: 'start' });
  return { tx, clock, bye };
}

const types = (effects: readonly Effect[]): string[] => effects.map((e) => (e.type === 'start-timer' || e.type === 'cancel-timer' ? `${e.type} ${e.timer}` : e.type));

const passedUp = (clock: FakeClock<ClientNonInviteEvent>): number[] => clock.ofType('pass-up').map((t) => (t.effect.message as SipResponse).status);

describe('non-INVITE client transaction: Trying', () => {
  test('start sends the request and arms E (T1) and F (64*T1) on UDP, only F on TCP', () => {
    const udp = new ClientNonInviteTransaction(request({ method: 'OPTIONS' }), { reliable: false });
    assert.equal(udp.state, 'Trying');
    assert.deepEqual(udp.handle({ type: 'start' }), [
      { type: 'send', message: udp.request },
      { type: 'start-timer', timer: 'E', ms: 500 },
      { type: 'start-timer', timer: 'F', ms: 32_000 },
    ]);
    assert.deepEqual(udp.handle({ type: 'start' }), []);
    assert.deepEqual(udp.handle({ type: 'timer', timer: 'K' }), [], 'a timer that is not armed is ignored');
    const tcp = new ClientNonInviteTransaction(request({ method: 'OPTIONS' }), { reliable: true });
    assert.deepEqual(types(tcp.handle({ type: 'start' })), ['send', 'start-timer F']);
  });

  test('Timer E doubles from T1 and is capped at T2 (4 s); F at 64*T1: timeout, Terminated', () => {
    const { tx, clock } = started(false);
    clock.advance(31_999);
    assert.deepEqual(clock.sendIntervals(), [500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000]);
    assert.deepEqual(clock.sendTimes(), [0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    assert.equal(tx.state, 'Trying');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(types(clock.log.filter((t) => t.at === 32_000).map((t) => t.effect)), ['cancel-timer E', 'timeout', 'terminated']);
    assert.deepEqual(clock.ofType('timeout').map((t) => t.effect), [{ type: 'timeout', timer: 'F' }]);
  });

  test('never retransmits on TCP; F still times out at 32 s', () => {
    const { tx, clock } = started(true);
    clock.runUntilIdle();
    assert.deepEqual(clock.sendTimes(), [0]);
    assert.deepEqual(clock.ofType('timeout').map((t) => t.at), [32_000]);
    assert.equal(tx.state, 'Terminated');
  });

  test('a cap of T2 is taken from the settings', () => {
    const { clock } = started(false, timerSettings({ t1: 100, t2: 250 }));
    clock.runUntilIdle();
    assert.deepEqual(clock.sendIntervals().slice(0, 4), [100, 200, 250, 250]);
    assert.deepEqual(clock.ofType('timeout').map((t) => t.at), [6400]);
  });

  test('a final response in Trying: passed up, E and F cancelled, Completed with K = T4', () => {
    const { tx, clock, bye } = started(false);
    clock.advance(600);
    const ok = response(bye, 200);
    assert.deepEqual(types(clock.dispatch({ type: 'response', response: ok })), ['cancel-timer E', 'cancel-timer F', 'pass-up', 'start-timer K']);
    assert.equal(tx.state, 'Completed');
    assert.equal(clock.armed().get('K'), 600 + 5000);
    assert.deepEqual(clock.dispatch({ type: 'response', response: response(bye, 200) }), [], 'retransmissions are absorbed');
    assert.deepEqual(clock.dispatch({ type: 'response', response: response(bye, 100) }), []);
    assert.deepEqual(clock.dispatch({ type: 'transport-error' }), [], 'nothing is sent in Completed');
    assert.deepEqual(clock.dispatch({ type: 'start' }), []);
    assert.deepEqual(clock.dispatch({ type: 'timer', timer: 'E' }), []);
    clock.advance(4999);
    assert.equal(tx.state, 'Completed');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(passedUp(clock), [200]);
    assert.deepEqual(clock.sendTimes(), [0, 500]);
  });

  test('a final response on TCP: Terminated at once (K = 0)', () => {
    const { tx, clock, bye } = started(true);
    assert.deepEqual(types(clock.dispatch({ type: 'response', response: response(bye, 481) })), ['cancel-timer F', 'pass-up', 'terminated']);
    assert.equal(tx.state, 'Terminated');
  });

  test('a transport error ends it', () => {
    const { tx, clock } = started(false);
    assert.deepEqual(types(clock.dispatch({ type: 'transport-error' })), ['cancel-timer E', 'cancel-timer F', 'transport-error', 'terminated']);
    assert.equal(tx.state, 'Terminated');
  });

  test('refuses INVITE and ACK', () => {
    assert.throws(() => new ClientNonInviteTransaction(request({ method: 'INVITE' }), { reliable: false }), TypeError);
    assert.throws(() => new ClientNonInviteTransaction(request({ method: 'ACK' }), { reliable: false }), TypeError);
  });
});

describe('non-INVITE client transaction: Proceeding', () => {
  test('1xx → Proceeding, passed up; E keeps running and is reset to T2 from then on', () => {
    const { tx, clock, bye } = started(false);
    clock.advance(100);
    assert.deepEqual(types(clock.dispatch({ type: 'response', response: response(bye, 100) })), ['pass-up']);
    assert.equal(tx.state, 'Proceeding');
    clock.advance(12_400); // E at 500 (armed in Trying), then every T2
    assert.deepEqual(clock.sendTimes(), [0, 500, 4500, 8500, 12_500]);
    clock.dispatch({ type: 'response', response: response(bye, 183) });
    assert.deepEqual(passedUp(clock), [100, 183]);
    assert.deepEqual(clock.dispatch({ type: 'start' }), []);
    assert.deepEqual(clock.dispatch({ type: 'timer', timer: 'K' }), []);
    const effects = clock.dispatch({ type: 'response', response: response(bye, 202) });
    assert.deepEqual(types(effects), ['cancel-timer E', 'cancel-timer F', 'pass-up', 'start-timer K']);
    assert.equal(tx.state, 'Completed');
    clock.runUntilIdle();
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(clock.ofType('terminated').map((t) => t.at), [12_500 + 5000]);
  });

  test('F in Proceeding: timeout, Terminated', () => {
    const { tx, clock, bye } = started(false);
    clock.dispatch({ type: 'response', response: response(bye, 100) });
    clock.runUntilIdle();
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(clock.ofType('timeout').map((t) => [t.at, t.effect.timer]), [[32_000, 'F']]);
    assert.deepEqual(clock.sendIntervals(), [500, 4000, 4000, 4000, 4000, 4000, 4000, 4000]);
  });

  test('a transport error in Proceeding ends it', () => {
    const { tx, clock, bye } = started(true);
    clock.dispatch({ type: 'response', response: response(bye, 100) });
    assert.deepEqual(types(clock.dispatch({ type: 'transport-error' })), ['cancel-timer F', 'transport-error', 'terminated']);
    assert.equal(tx.state, 'Terminated');
  });

  test('Terminated ignores every event', () => {
    const { tx, clock, bye } = started(true);
    clock.runUntilIdle();
    for (const event of [
      { type: 'start' }, { type: 'response', response: response(bye, 200) }, { type: 'timer', timer: 'E' },
      { type: 'timer', timer: 'F' }, { type: 'timer', timer: 'K' }, { type: 'transport-error' },
    ] as const) {
      assert.deepEqual(tx.handle(event), []);
    }
  });
});
