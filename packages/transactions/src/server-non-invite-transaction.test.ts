// The non-INVITE server transaction (RFC 3261 §17.2.2, RFC 6026 §8.8) on virtual time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipRequest, SipResponse } from '@switchboard/sip';
import type { Effect } from './effects.js';
import { FakeClock } from './fake-clock.js';
import { request, response } from './fixtures.js';
import { ServerNonInviteTransaction, type ServerNonInviteEvent } from './server-non-invite-transaction.js';
import { timerSettings } from './timers.js';

function started(reliable: boolean, timers = timerSettings()): { tx: ServerNonInviteTransaction; clock: FakeClock<ServerNonInviteEvent>; bye: SipRequest } {
  const bye = request({ method: 'BYE', toTag: 'uas-tag-1' });
  const tx = new ServerNonInviteTransaction(bye, { reliable, timers });
  const clock = new FakeClock<ServerNonInviteEvent>(tx);
  clock.dispatch({ type: 'start' });
  return { tx, clock, bye };
}

const types = (effects: readonly Effect[]): string[] => effects.map((e) => (e.type === 'start-timer' || e.type === 'cancel-timer' ? `${e.type} ${e.timer}` : e.type));

const sentStatuses = (clock: FakeClock<ServerNonInviteEvent>): number[] => clock.ofType('send').map((t) => (t.effect.message as SipResponse).status);

describe('non-INVITE server transaction', () => {
  test('start passes the request up and sends nothing; Trying absorbs retransmissions', () => {
    const bye = request({ method: 'BYE', toTag: 'uas-tag-1' });
    const tx = new ServerNonInviteTransaction(bye, { reliable: false });
    assert.equal(tx.state, 'Trying');
    assert.deepEqual(tx.handle({ type: 'start' }), [{ type: 'pass-up', message: bye }]);
    assert.deepEqual(tx.handle({ type: 'start' }), []);
    assert.deepEqual(tx.handle({ type: 'request', request: bye }), []);
    assert.deepEqual(tx.handle({ type: 'timer', timer: 'J' }), []);
    assert.deepEqual(tx.handle({ type: 'transport-error' }), [{ type: 'transport-error' }]);
    assert.equal(tx.state, 'Trying');
  });

  test('1xx → Proceeding; retransmissions get the last 1xx; a final → Completed with J = 64*T1; J ends it', () => {
    const { tx, clock, bye } = started(false);
    const trying = response(bye, 100);
    assert.deepEqual(clock.dispatch({ type: 'respond', response: trying }), [{ type: 'send', message: trying }]);
    assert.equal(tx.state, 'Proceeding');
    assert.deepEqual(clock.dispatch({ type: 'request', request: bye }), [{ type: 'send', message: trying }]);
    assert.deepEqual(clock.dispatch({ type: 'timer', timer: 'J' }), [], 'a stray timer is ignored');
    assert.deepEqual(clock.dispatch({ type: 'start' }), []);
    assert.deepEqual(clock.dispatch({ type: 'transport-error' }), [{ type: 'transport-error' }]);
    assert.equal(tx.state, 'Proceeding');
    clock.advance(250);
    const ok = response(bye, 200);
    assert.deepEqual(types(clock.dispatch({ type: 'respond', response: ok })), ['send', 'start-timer J']);
    assert.equal(tx.state, 'Completed');
    assert.equal(tx.lastResponse, ok);
    assert.equal(clock.armed().get('J'), 250 + 32_000);
    assert.deepEqual(clock.dispatch({ type: 'request', request: bye }), [{ type: 'send', message: ok }]);
    assert.deepEqual(clock.dispatch({ type: 'respond', response: response(bye, 500) }), [], 'a second final is dropped');
    assert.deepEqual(clock.dispatch({ type: 'start' }), []);
    assert.deepEqual(clock.dispatch({ type: 'transport-error' }), [{ type: 'transport-error' }]);
    clock.advance(31_999);
    assert.equal(tx.state, 'Completed');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(sentStatuses(clock), [100, 100, 200, 200]);
  });

  test('a final response in Trying goes straight to Completed; never retransmitted by the transaction', () => {
    const { tx, clock, bye } = started(false);
    clock.dispatch({ type: 'respond', response: response(bye, 481) });
    assert.equal(tx.state, 'Completed');
    clock.runUntilIdle();
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(sentStatuses(clock), [481]);
    assert.deepEqual(clock.ofType('terminated').map((t) => t.at), [32_000]);
  });

  test('J follows T1', () => {
    const { clock, bye } = started(false, timerSettings({ t1: 200 }));
    clock.dispatch({ type: 'respond', response: response(bye, 200) });
    assert.equal(clock.armed().get('J'), 12_800);
  });

  test('on TCP a final response terminates at once (J = 0)', () => {
    const { tx, clock, bye } = started(true);
    clock.dispatch({ type: 'respond', response: response(bye, 180) });
    assert.deepEqual(types(clock.dispatch({ type: 'respond', response: response(bye, 200) })), ['send', 'terminated']);
    assert.equal(tx.state, 'Terminated');
    for (const event of [
      { type: 'start' }, { type: 'request', request: bye }, { type: 'respond', response: response(bye, 200) },
      { type: 'timer', timer: 'J' }, { type: 'transport-error' },
    ] as const) {
      assert.deepEqual(tx.handle(event), []);
    }
  });

  test('refuses INVITE and ACK', () => {
    assert.throws(() => new ServerNonInviteTransaction(request({ method: 'INVITE' }), { reliable: false }), TypeError);
    assert.throws(() => new ServerNonInviteTransaction(request({ method: 'ACK' }), { reliable: false }), TypeError);
  });
});
