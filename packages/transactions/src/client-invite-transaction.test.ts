// The INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §7.2) on virtual time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipRequest, SipResponse } from '@switchboard/sip';
import { ClientInviteTransaction, type ClientInviteEvent } from './client-invite-transaction.js';
import type { Effect } from './effects.js';
import { FakeClock } from './fake-clock.js';
import { request, response } from './fixtures.js';
import { timerSettings } from './timers.js';

function started(reliable: boolean, timers = timerSettings()): { tx: ClientInviteTransaction; clock: FakeClock<ClientInviteEvent>; invite: SipRequest } {
  const invite = request();
  const tx = new ClientInviteTransaction(invite, { reliable, timers });
  const clock = new FakeClock<ClientInviteEvent>(tx);
  clock.dispatch({ type: 'start' });
  return { tx, clock, invite };
}

const types = (effects: readonly Effect[]): string[] => effects.map((e) => (e.type === 'start-timer' || e.type === 'cancel-timer' ? `${e.type} ${e.timer}` : e.type));

function passedUp(clock: FakeClock<ClientInviteEvent>): SipResponse[] {
  return clock.ofType('pass-up').map((t) => t.effect.message as SipResponse);
}

function sentAcks(clock: FakeClock<ClientInviteEvent>): SipRequest[] {
  return clock.ofType('send').map((t) => t.effect.message as SipRequest).filter((m) => m.method === 'ACK');
}

describe('INVITE client transaction: Calling', () => {
  test('start sends the INVITE and arms A (T1) and B (64*T1) on UDP', () => {
    const tx = new ClientInviteTransaction(request(), { reliable: false });
    assert.equal(tx.state, 'Calling');
    const effects = tx.handle({ type: 'start' });
    assert.deepEqual(effects, [
      { type: 'send', message: tx.request },
      { type: 'start-timer', timer: 'A', ms: 500 },
      { type: 'start-timer', timer: 'B', ms: 32_000 },
    ]);
    assert.deepEqual(tx.handle({ type: 'start' }), [], 'a second start sends nothing');
    assert.deepEqual(tx.handle({ type: 'timer', timer: 'D' }), [], 'a timer that is not armed is ignored');
  });

  test('Timer A retransmits at 500, 1000, 2000... ms intervals on UDP; B fires at 32 s: timeout, Terminated', () => {
    const { tx, clock } = started(false);
    clock.advance(31_999);
    assert.deepEqual(clock.sendTimes(), [0, 500, 1500, 3500, 7500, 15_500, 31_500]);
    assert.deepEqual(clock.sendIntervals(), [500, 1000, 2000, 4000, 8000, 16_000]);
    assert.ok(clock.ofType('send').every((t) => t.effect.message === tx.request));
    assert.equal(tx.state, 'Calling');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(types(clock.log.filter((t) => t.at === 32_000).map((t) => t.effect)), ['cancel-timer A', 'timeout', 'terminated']);
    assert.deepEqual(clock.ofType('timeout').map((t) => t.effect), [{ type: 'timeout', timer: 'B' }]);
    assert.equal(clock.armed().size, 0);
  });

  test('never retransmits on TCP; B still fires at 32 s', () => {
    const { tx, clock } = started(true);
    assert.deepEqual([...clock.armed().keys()], ['B']);
    clock.runUntilIdle();
    assert.deepEqual(clock.sendTimes(), [0]);
    assert.deepEqual(clock.ofType('timeout').map((t) => t.at), [32_000]);
    assert.equal(tx.state, 'Terminated');
  });

  test('timer values follow the configured T1', () => {
    const { clock } = started(false, timerSettings({ t1: 100, t2: 400 }));
    clock.runUntilIdle();
    assert.deepEqual(clock.sendTimes(), [0, 100, 300, 700, 1500, 3100, 6300]);
    assert.deepEqual(clock.ofType('timeout').map((t) => t.at), [6400]);
  });

  test('a transport error ends the transaction at once', () => {
    const { tx, clock } = started(false);
    assert.deepEqual(types(clock.dispatch({ type: 'transport-error' })), ['cancel-timer A', 'cancel-timer B', 'transport-error', 'terminated']);
    assert.equal(tx.state, 'Terminated');
  });

  test('refuses a request other than INVITE', () => {
    assert.throws(() => new ClientInviteTransaction(request({ method: 'BYE' }), { reliable: false }), TypeError);
  });
});

describe('INVITE client transaction: Proceeding and Completed (300-699)', () => {
  test('180 then 486: ACK with the same branch and the To tag, passed up once, re-ACKed on retransmission, D ends it at 32 s', () => {
    const { tx, clock, invite } = started(false);
    clock.advance(200);
    const ringing = response(invite, 180);
    assert.deepEqual(types(clock.dispatch({ type: 'response', response: ringing })), ['cancel-timer A', 'cancel-timer B', 'pass-up']);
    assert.equal(tx.state, 'Proceeding');
    clock.advance(60_000); // no timer runs in Proceeding: no retransmission, no timeout
    assert.deepEqual(clock.sendTimes(), [0]);
    assert.equal(tx.state, 'Proceeding');

    const busy = response(invite, 486, 'busy-tag');
    const effects = clock.dispatch({ type: 'response', response: busy });
    assert.deepEqual(types(effects), ['send', 'pass-up', 'start-timer D']);
    assert.equal(tx.state, 'Completed');
    const [ack] = sentAcks(clock);
    assert.ok(ack !== undefined);
    assert.equal(tx.ackRequest, ack);
    assert.equal(ack.method, 'ACK');
    assert.equal(ack.uri.toString(), invite.uri.toString());
    assert.equal(ack.headers.topVia?.branch, invite.headers.topVia?.branch);
    assert.equal(ack.headers.via.length, 1);
    assert.equal(ack.headers.to?.tag, 'busy-tag');
    assert.equal(ack.headers.from?.tag, invite.headers.from?.tag);
    assert.equal(ack.headers.callId, invite.headers.callId);
    assert.equal(ack.headers.cseq?.seq, invite.headers.cseq?.seq);
    assert.equal(ack.headers.cseq?.method, 'ACK');
    assert.deepEqual(passedUp(clock).map((r) => r.status), [180, 486]);

    clock.advance(1000);
    const again = clock.dispatch({ type: 'response', response: response(invite, 486, 'busy-tag') });
    assert.deepEqual(again, [{ type: 'send', message: ack }], 'the same ACK again, nothing passed up');
    assert.deepEqual(passedUp(clock).map((r) => r.status), [180, 486]);

    clock.advance(30_999);
    assert.equal(tx.state, 'Completed');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(clock.ofType('terminated').map((t) => t.at), [60_200 + 32_000]);
    assert.equal(clock.ofType('timeout').length, 0);
  });

  test('486 in Calling: ACK, passed up, Completed; on TCP Terminated at once (D = 0)', () => {
    const udp = started(false);
    udp.clock.advance(700);
    assert.deepEqual(types(udp.clock.dispatch({ type: 'response', response: response(udp.invite, 486) })),
      ['cancel-timer A', 'cancel-timer B', 'send', 'pass-up', 'start-timer D']);
    assert.equal(udp.clock.armed().get('D'), 700 + 32_000);

    const tcp = started(true);
    assert.deepEqual(types(tcp.clock.dispatch({ type: 'response', response: response(tcp.invite, 486) })),
      ['cancel-timer B', 'send', 'pass-up', 'terminated']);
    assert.equal(tcp.tx.state, 'Terminated');
    assert.equal(sentAcks(tcp.clock).length, 1);
  });

  test('Timer D is at least 32 s and follows a larger T1', () => {
    for (const [t1, d] of [[100, 32_000], [500, 32_000], [1000, 64_000]] as const) {
      const { clock, invite } = started(false, timerSettings({ t1, t2: 4000 }));
      clock.dispatch({ type: 'response', response: response(invite, 603) });
      assert.equal(clock.armed().get('D'), d);
    }
  });

  test('a final response with another To tag in Completed gets its own ACK, not passed up', () => {
    const { clock, invite } = started(false);
    clock.dispatch({ type: 'response', response: response(invite, 486, 'one') });
    clock.dispatch({ type: 'response', response: response(invite, 480, 'two') });
    assert.deepEqual(sentAcks(clock).map((a) => a.headers.to?.tag), ['one', 'two']);
    assert.deepEqual(passedUp(clock).map((r) => r.status), [486]);
  });

  test('1xx and 2xx in Completed are absorbed; a transport error ends it', () => {
    const { tx, clock, invite } = started(false);
    clock.dispatch({ type: 'response', response: response(invite, 500) });
    assert.deepEqual(clock.dispatch({ type: 'response', response: response(invite, 180) }), []);
    assert.deepEqual(clock.dispatch({ type: 'response', response: response(invite, 200) }), []);
    assert.deepEqual(clock.dispatch({ type: 'start' }), []);
    assert.deepEqual(clock.dispatch({ type: 'timer', timer: 'M' }), [], 'a timer that is not armed is ignored');
    assert.deepEqual(types(clock.dispatch({ type: 'transport-error' })), ['cancel-timer D', 'transport-error', 'terminated']);
    assert.equal(tx.state, 'Terminated');
  });

  test('Proceeding passes every 1xx up and ends on a transport error', () => {
    const { tx, clock, invite } = started(false);
    clock.dispatch({ type: 'response', response: response(invite, 100) });
    clock.dispatch({ type: 'response', response: response(invite, 180) });
    clock.dispatch({ type: 'response', response: response(invite, 183) });
    assert.deepEqual(passedUp(clock).map((r) => r.status), [100, 180, 183]);
    assert.deepEqual(clock.dispatch({ type: 'start' }), []);
    assert.deepEqual(clock.dispatch({ type: 'timer', timer: 'A' }), [], 'a stale Timer A fire is ignored');
    assert.deepEqual(types(clock.dispatch({ type: 'transport-error' })), ['transport-error', 'terminated']);
    assert.equal(tx.state, 'Terminated');
  });
});

describe('INVITE client transaction: Accepted (RFC 6026)', () => {
  test('a 2xx lets go of the INVITE (Accepted only passes 2xx up); its method and CSeq stay, a non-2xx keeps it for the ACK', () => {
    const { tx, clock, invite } = started(false);
    clock.dispatch({ type: 'response', response: response(invite, 180) });
    assert.equal(tx.request, invite, 'kept while a CANCEL may still be built from it');
    clock.dispatch({ type: 'response', response: response(invite, 200) });
    assert.equal(tx.state, 'Accepted');
    assert.throws(() => tx.request, /the INVITE of an Accepted transaction was released/);
    assert.equal(tx.method, 'INVITE');
    assert.equal(tx.cseq, invite.headers.cseq?.seq);
    const again = response(invite, 200);
    assert.deepEqual(clock.dispatch({ type: 'response', response: again }), [{ type: 'pass-up', message: again }]);

    const failed = started(false);
    failed.clock.dispatch({ type: 'response', response: response(failed.invite, 486) });
    assert.equal(failed.tx.state, 'Completed');
    assert.equal(failed.tx.request, failed.invite);
  });

  test('200 → Accepted with Timer M; every further 2xx passed up; M ends it at 64*T1', () => {
    const { tx, clock, invite } = started(false);
    clock.advance(1000);
    const ok = response(invite, 200);
    assert.deepEqual(types(clock.dispatch({ type: 'response', response: ok })),
      ['cancel-timer A', 'cancel-timer B', 'pass-up', 'start-timer M']);
    assert.equal(tx.state, 'Accepted');
    assert.equal(clock.armed().get('M'), 1000 + 32_000);
    clock.advance(500);
    const again = response(invite, 200);
    assert.deepEqual(clock.dispatch({ type: 'response', response: again }), [{ type: 'pass-up', message: again }]);
    const fork = response(invite, 200, 'other-fork');
    assert.deepEqual(clock.dispatch({ type: 'response', response: fork }), [{ type: 'pass-up', message: fork }]);
    assert.deepEqual(clock.dispatch({ type: 'response', response: response(invite, 486) }), [], 'a non-2xx is absorbed');
    assert.deepEqual(clock.dispatch({ type: 'response', response: response(invite, 180) }), []);
    assert.deepEqual(clock.dispatch({ type: 'transport-error' }), [], 'the 2xx ACKs are the TU\'s: not our error');
    assert.deepEqual(clock.dispatch({ type: 'start' }), []);
    assert.deepEqual(clock.dispatch({ type: 'timer', timer: 'D' }), []);
    assert.equal(sentAcks(clock).length, 0, 'the transaction never ACKs a 2xx');
    clock.advance(31_499);
    assert.equal(tx.state, 'Accepted');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(passedUp(clock), [ok, again, fork]);
    assert.deepEqual(clock.sendTimes(), [0, 500], 'A retransmitted once before the 200');
  });

  test('2xx in Proceeding → Accepted, also on TCP', () => {
    const { tx, clock, invite } = started(true);
    clock.dispatch({ type: 'response', response: response(invite, 180) });
    assert.deepEqual(types(clock.dispatch({ type: 'response', response: response(invite, 200) })), ['pass-up', 'start-timer M']);
    assert.equal(tx.state, 'Accepted');
    clock.runUntilIdle();
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(clock.ofType('terminated').map((t) => t.at), [32_000]);
  });
});

describe('INVITE client transaction: Terminated', () => {
  test('ignores every event', () => {
    const { tx, clock, invite } = started(false);
    clock.runUntilIdle();
    assert.equal(tx.state, 'Terminated');
    for (const event of [
      { type: 'start' }, { type: 'response', response: response(invite, 200) }, { type: 'response', response: response(invite, 486) },
      { type: 'timer', timer: 'A' }, { type: 'timer', timer: 'B' }, { type: 'timer', timer: 'D' }, { type: 'timer', timer: 'M' },
      { type: 'transport-error' },
    ] as const) {
      assert.deepEqual(tx.handle(event), []);
    }
  });

  test('ignores a status outside 100-699', () => {
    const { tx, invite } = started(false);
    const odd = response(invite, 200);
    odd.status = 99;
    assert.deepEqual(tx.handle({ type: 'response', response: odd }), []);
    assert.equal(tx.state, 'Calling');
  });
});

describe('INVITE client transaction: resumed (worker takeover)', () => {
  test('resume enters Proceeding sending nothing; a 487 is ACKed and passed up, a 2xx passed up; start stays silent', () => {
    for (const status of [487, 200]) {
      const tx = new ClientInviteTransaction(request(), { reliable: false });
      const clock = new FakeClock<ClientInviteEvent>(tx);
      tx.resume();
      assert.equal(tx.state, 'Proceeding');
      assert.deepEqual(clock.dispatch({ type: 'start' }), [], 'resumed: the INVITE is never sent again');
      assert.deepEqual(clock.armed().size, 0);
      const effects = clock.dispatch({ type: 'response', response: response(tx.request, status) });
      assert.deepEqual(types(effects).filter((t) => t === 'send' || t === 'pass-up'), status === 487 ? ['send', 'pass-up'] : ['pass-up']);
      assert.equal(tx.state, status === 487 ? 'Completed' : 'Accepted');
    }
  });
});
