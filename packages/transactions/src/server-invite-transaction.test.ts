// The INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1, §8) on virtual time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createAck, createResponse, type SipRequest, type SipResponse } from '@switchboard/sip';
import type { Effect } from './effects.js';
import { FakeClock } from './fake-clock.js';
import { request, response } from './fixtures.js';
import { ServerInviteTransaction, type ServerInviteEvent } from './server-invite-transaction.js';

const VIAS = [
  'SIP/2.0/UDP proxy.example.com;branch=z9hG4bK-proxy-1;received=192.0.2.7',
  'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK-client-1',
];

function started(reliable: boolean): { tx: ServerInviteTransaction; clock: FakeClock<ServerInviteEvent>; invite: SipRequest } {
  const invite = request({ via: VIAS });
  const tx = new ServerInviteTransaction(invite, { reliable });
  const clock = new FakeClock<ServerInviteEvent>(tx);
  clock.dispatch({ type: 'start' });
  return { tx, clock, invite };
}

const types = (effects: readonly Effect[]): string[] => effects.map((e) => (e.type === 'start-timer' || e.type === 'cancel-timer' ? `${e.type} ${e.timer}` : e.type));

const sentStatuses = (clock: FakeClock<ServerInviteEvent>): number[] => clock.ofType('send').map((t) => (t.effect.message as SipResponse).status);

/** The ACK the client's transaction would send for `final`. */
const ackFor = (invite: SipRequest, final: SipResponse): SipRequest => createAck(invite, final);

describe('INVITE server transaction: Proceeding', () => {
  test('start sends 100 Trying at once and passes the INVITE up', () => {
    const invite = request({ via: VIAS });
    const tx = new ServerInviteTransaction(invite, { reliable: false });
    assert.equal(tx.state, 'Proceeding');
    const effects = tx.handle({ type: 'start' });
    assert.deepEqual(types(effects), ['send', 'pass-up']);
    const trying = (effects[0] as { message: SipResponse }).message;
    assert.equal(trying.status, 100);
    assert.equal(trying.headers.to?.tag, undefined, 'no To tag on 100 (§8.2.6.2)');
    assert.deepEqual(trying.headers.getAll('Via'), invite.headers.getAll('Via'));
    assert.equal(trying.headers.cseq?.toString(), '314159 INVITE');
    assert.equal(tx.lastResponse, trying);
    assert.deepEqual(effects[1], { type: 'pass-up', message: invite });
    assert.deepEqual(tx.handle({ type: 'start' }), [], 'a second start does nothing');
  });

  test('a retransmitted INVITE gets the last provisional response again', () => {
    const { tx, clock, invite } = started(false);
    const trying = tx.lastResponse;
    assert.deepEqual(clock.dispatch({ type: 'request', request: invite }), [{ type: 'send', message: trying }]);
    const ringing = createResponse(invite, 180, { toTag: 'uas-tag-1' });
    assert.deepEqual(clock.dispatch({ type: 'respond', response: ringing }), [{ type: 'send', message: ringing }]);
    const progress = createResponse(invite, 183, { toTag: 'uas-tag-1' });
    clock.dispatch({ type: 'respond', response: progress });
    assert.equal(tx.state, 'Proceeding');
    assert.deepEqual(clock.dispatch({ type: 'request', request: invite }), [{ type: 'send', message: progress }]);
    assert.deepEqual(clock.dispatch({ type: 'ack', request: invite }), [], 'no final response yet: an ACK means nothing');
    assert.deepEqual(clock.dispatch({ type: 'timer', timer: 'G' }), [], 'a stray timer is ignored');
    assert.deepEqual(sentStatuses(clock), [100, 100, 180, 183, 183]);
  });

  test('a transport error is reported and the state kept (RFC 6026 §8.8)', () => {
    const { tx, clock } = started(false);
    assert.deepEqual(clock.dispatch({ type: 'transport-error' }), [{ type: 'transport-error' }]);
    assert.equal(tx.state, 'Proceeding');
  });

  test('refuses a request other than INVITE', () => {
    assert.throws(() => new ServerInviteTransaction(request({ method: 'OPTIONS' }), { reliable: false }), TypeError);
  });
});

describe('INVITE server transaction: Completed and Confirmed (300-699)', () => {
  test('486 on UDP: sent, G retransmits doubling up to T2, H at 64*T1: timeout, Terminated', () => {
    const { tx, clock, invite } = started(false);
    clock.advance(1000);
    const busy = response(invite, 486);
    assert.deepEqual(types(clock.dispatch({ type: 'respond', response: busy })), ['send', 'start-timer G', 'start-timer H']);
    assert.equal(tx.state, 'Completed');
    clock.advance(31_999);
    const finals = clock.ofType('send').filter((t) => t.effect.message === busy).map((t) => t.at - 1000);
    assert.deepEqual(finals, [0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    assert.equal(tx.state, 'Completed');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(types(clock.log.filter((t) => t.at === 33_000).map((t) => t.effect)), ['cancel-timer G', 'timeout', 'terminated']);
    assert.deepEqual(clock.ofType('timeout').map((t) => t.effect), [{ type: 'timeout', timer: 'H' }]);
  });

  test('486 on TCP: no G; H still gives up at 64*T1', () => {
    const { tx, clock, invite } = started(true);
    assert.deepEqual(types(clock.dispatch({ type: 'respond', response: response(invite, 486) })), ['send', 'start-timer H']);
    clock.runUntilIdle();
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(sentStatuses(clock), [100, 486]);
    assert.deepEqual(clock.ofType('timeout').map((t) => t.at), [32_000]);
  });

  test('a retransmitted INVITE in Completed gets the final response again; other responses are dropped', () => {
    const { tx, clock, invite } = started(false);
    const busy = response(invite, 486);
    clock.dispatch({ type: 'respond', response: busy });
    assert.deepEqual(clock.dispatch({ type: 'request', request: invite }), [{ type: 'send', message: busy }]);
    assert.deepEqual(clock.dispatch({ type: 'respond', response: response(invite, 200) }), []);
    assert.deepEqual(clock.dispatch({ type: 'respond', response: response(invite, 180) }), []);
    assert.deepEqual(clock.dispatch({ type: 'start' }), []);
    assert.deepEqual(clock.dispatch({ type: 'timer', timer: 'I' }), [], 'a timer that is not armed is ignored');
    assert.deepEqual(clock.dispatch({ type: 'transport-error' }), [{ type: 'transport-error' }]);
    assert.equal(tx.state, 'Completed');
  });

  test('ACK → Confirmed: G and H cancelled, I = T4 absorbs ACKs and INVITEs, then Terminated', () => {
    const { tx, clock, invite } = started(false);
    const busy = response(invite, 486);
    clock.dispatch({ type: 'respond', response: busy });
    clock.advance(2000); // G fired at 500 and 1500
    const ack = ackFor(invite, busy);
    assert.deepEqual(types(clock.dispatch({ type: 'ack', request: ack })), ['cancel-timer G', 'cancel-timer H', 'start-timer I']);
    assert.equal(tx.state, 'Confirmed');
    assert.equal(clock.armed().get('I'), 2000 + 5000);
    assert.deepEqual(clock.dispatch({ type: 'ack', request: ack }), []);
    assert.deepEqual(clock.dispatch({ type: 'request', request: invite }), []);
    assert.deepEqual(clock.dispatch({ type: 'respond', response: busy }), []);
    assert.deepEqual(clock.dispatch({ type: 'transport-error' }), []);
    assert.deepEqual(clock.dispatch({ type: 'timer', timer: 'G' }), [], 'a stale G fire is ignored');
    assert.deepEqual(clock.dispatch({ type: 'start' }), []);
    clock.advance(4999);
    assert.equal(tx.state, 'Confirmed');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(sentStatuses(clock), [100, 486, 486, 486]);
    assert.equal(clock.ofType('timeout').length, 0);
  });

  test('an ACK delivered as a request event is taken for the ACK', () => {
    const { tx, clock, invite } = started(false);
    const busy = response(invite, 486);
    clock.dispatch({ type: 'respond', response: busy });
    assert.deepEqual(types(clock.dispatch({ type: 'request', request: ackFor(invite, busy) })), ['cancel-timer G', 'cancel-timer H', 'start-timer I']);
    assert.equal(tx.state, 'Confirmed');
  });

  test('ACK on TCP: Terminated at once (I = 0)', () => {
    const { tx, clock, invite } = started(true);
    const busy = response(invite, 603);
    clock.dispatch({ type: 'respond', response: busy });
    assert.deepEqual(types(clock.dispatch({ type: 'ack', request: ackFor(invite, busy) })), ['cancel-timer H', 'terminated']);
    assert.equal(tx.state, 'Terminated');
  });
});

describe('INVITE server transaction: Accepted (RFC 6026)', () => {
  test('Accepted lets go of the INVITE and the 2xx (a call holds the transaction 64*T1 after its answer); its method and CSeq stay', () => {
    const { tx, clock, invite } = started(false);
    assert.equal(tx.request, invite);
    clock.dispatch({ type: 'respond', response: response(invite, 180) });
    assert.equal(tx.request, invite, 'kept while the INVITE is unanswered');
    clock.dispatch({ type: 'respond', response: response(invite, 200) });
    assert.equal(tx.state, 'Accepted');
    assert.throws(() => tx.request, /the INVITE of an Accepted transaction was released/);
    assert.equal(tx.lastResponse, undefined);
    assert.equal(tx.method, 'INVITE');
    assert.equal(tx.cseq, 314159);
    const again = response(invite, 200);
    assert.deepEqual(clock.dispatch({ type: 'respond', response: again }), [{ type: 'send', message: again }], 'the TU\'s 2xx still goes');
    assert.equal(tx.lastResponse, undefined, 'and is not kept either');
  });

  test('a non-2xx final keeps the INVITE: Completed retransmits the response and reads the ACK against it', () => {
    const { tx, clock, invite } = started(false);
    clock.dispatch({ type: 'respond', response: response(invite, 486) });
    assert.equal(tx.state, 'Completed');
    assert.equal(tx.request, invite);
    assert.equal(tx.lastResponse?.status, 486);
  });

  test('2xx → Accepted with L; INVITE retransmissions absorbed, ACKs passed up, 2xx from the TU sent, L ends it', () => {
    const { tx, clock, invite } = started(false);
    clock.advance(3000);
    const ok = response(invite, 200);
    assert.deepEqual(types(clock.dispatch({ type: 'respond', response: ok })), ['send', 'start-timer L']);
    assert.equal(tx.state, 'Accepted');
    assert.equal(clock.armed().get('L'), 3000 + 32_000);
    assert.deepEqual(clock.dispatch({ type: 'request', request: invite }), [], 'absorbed: the UAS core retransmits the 2xx');
    assert.deepEqual(clock.dispatch({ type: 'respond', response: ok }), [{ type: 'send', message: ok }]);
    assert.deepEqual(clock.dispatch({ type: 'respond', response: response(invite, 486) }), [], 'nothing but a 2xx after a 2xx');
    assert.deepEqual(clock.dispatch({ type: 'respond', response: response(invite, 180) }), []);
    const ack = request({ method: 'ACK', toTag: 'uas-tag-1', via: ['SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK-ack-2xx'] });
    assert.deepEqual(clock.dispatch({ type: 'ack', request: ack }), [{ type: 'pass-up', message: ack }]);
    assert.deepEqual(clock.dispatch({ type: 'transport-error' }), [{ type: 'transport-error' }]);
    assert.deepEqual(clock.dispatch({ type: 'start' }), []);
    assert.deepEqual(clock.dispatch({ type: 'timer', timer: 'H' }), []);
    assert.equal(tx.state, 'Accepted');
    clock.advance(31_999);
    assert.equal(tx.state, 'Accepted');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(sentStatuses(clock), [100, 200, 200]);
    assert.equal(clock.ofType('timeout').length, 0);
  });

  test('the 2xx is never retransmitted by the transaction, on UDP or TCP', () => {
    for (const reliable of [false, true]) {
      const { clock, invite } = started(reliable);
      clock.dispatch({ type: 'respond', response: response(invite, 200) });
      clock.runUntilIdle();
      assert.deepEqual(sentStatuses(clock), [100, 200]);
      assert.deepEqual(clock.ofType('terminated').map((t) => t.at), [32_000]);
    }
  });

  test('Terminated ignores every event', () => {
    const { tx, clock, invite } = started(true);
    clock.dispatch({ type: 'respond', response: response(invite, 200) });
    clock.runUntilIdle();
    for (const event of [
      { type: 'start' }, { type: 'request', request: invite }, { type: 'ack', request: invite },
      { type: 'respond', response: response(invite, 200) }, { type: 'timer', timer: 'L' }, { type: 'transport-error' },
    ] as const) {
      assert.deepEqual(tx.handle(event), []);
    }
  });
});
