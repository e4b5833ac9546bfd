// The call actor trying its targets in turn: failover on 503, a transport error or Timer B,
// making a target ready (its provisional, its address, its rate), and the answer relayed when
// every target fails — through the engine with a fake SIP link.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipRequest, SipResponse, SipUri } from '@switchboard/sip';
import { LocalCallLimiter } from '@switchboard/limits';
import { A_PORT, answer, deliver, fromA, inviteFromA, isReq, isRes, settle } from '../testing/harness.js';
import {
  SDP_B, C1, C2, C3, PBX1, PBX2, CARRIER_SOURCE, CARRIER_PORT, DID, carrier, trunking, originationTrunking, engineWith,
  bodyOf, finals, cancelOf, takeInvite, takeFinal, hangUp,
} from '../testing/call-fixtures.js';
import { VirtualTime } from '../testing/virtual-time.js';

describe('call actor: failover across targets', () => {
  test('the first carrier answers 503: the call goes to the second (new Call-ID), whose 200 reaches the caller; the 503 never does', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]));
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    const first = takeInvite(h, C1);
    assert.equal(h.link.take(C2, isReq('INVITE')).length, 0, 'targets are tried one at a time');
    deliver(h.engine, answer(first, 503, { tag: 'c1' }), C1);
    await settle();
    assert.equal(h.link.take(C1, isReq('ACK')).length, 1, 'the 503 is ACKed');
    const second = takeInvite(h, C2);
    assert.notEqual(second.headers.callId, first.headers.callId);
    assert.notEqual(second.headers.from?.tag, first.headers.from?.tag);
    assert.equal((second.uri as SipUri).user, DID);
    deliver(h.engine, answer(second, 200, { tag: 'c2', sdp: SDP_B, port: C2 }), C2);
    await settle();
    assert.equal(h.link.take(C2, isReq('ACK')).length, 1);
    const ok = takeFinal(h, A_PORT);
    assert.equal(ok.status, 200);
    assert.equal(bodyOf(ok), SDP_B);
    assert.equal(h.link.sent.filter((s) => s.message instanceof SipResponse && s.message.status === 503).length, 0, 'no 503 was sent anywhere');
    assert.equal(h.ctx.counters.get('failover'), 1);
    // the call is bridged to the second carrier: the caller's BYE goes there
    deliver(h.engine, fromA(ok, 'ACK', 1), A_PORT);
    await settle();
    await hangUp(h, ok, C2);
    assert.equal(h.link.take(C1, isReq('BYE')).length, 0);
    assert.equal(h.ctx.calls.size, 0);
    h.kernel.shutdown();
  });

  test('a transport error on the first INVITE fails over to the second carrier', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const sent = h.link.sent.find((s) => s.to.port === C1 && s.message instanceof SipRequest && s.message.method === 'INVITE');
    assert.ok(sent?.ref);
    h.engine.onSendFailure({ v: 1, ref: sent.ref, reason: 'ECONNREFUSED', protocol: 'udp', address: '127.0.0.9', port: C1 });
    await settle();
    const second = takeInvite(h, C2);
    assert.equal(finals(h, A_PORT).length, 0, 'the caller has no final answer yet');
    deliver(h.engine, answer(second, 200, { sdp: SDP_B, port: C2 }), C2);
    await settle();
    assert.equal(takeFinal(h, A_PORT).status, 200);
    h.kernel.shutdown();
  });

  test('a silent first carrier (Timer B) fails over to the second carrier', async (t) => {
    // virtual time: on a busy machine a real T1 of 10 ms retransmits the second INVITE, or our
    // 200 to the caller, between two steps of the test
    const clock = new VirtualTime(t);
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]), {}, { t1: 10, t2: 40, t4: 10 });
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    await clock.advance(64 * 10); // Timer B (§17.1.1.2)
    assert.ok(h.link.take(C1, isReq('INVITE')).length > 1, 'Timer A retransmitted the first INVITE');
    const second = takeInvite(h, C2);
    assert.equal(finals(h, A_PORT).length, 0, 'the timeout did not reach the caller');
    deliver(h.engine, answer(second, 200, { sdp: SDP_B, port: C2 }), C2);
    await settle();
    assert.equal(takeFinal(h, A_PORT).status, 200);
    h.kernel.shutdown();
  });

  test('486 is an answer, not a failure: relayed to the caller, the second carrier never sees an INVITE', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    deliver(h.engine, answer(takeInvite(h, C1), 486), C1);
    await settle();
    const busy = takeFinal(h, A_PORT);
    assert.equal(busy.status, 486);
    assert.equal(h.link.take(C2, isReq('INVITE')).length, 0);
    assert.equal(h.ctx.counters.get('failover'), 0);
    h.kernel.shutdown();
  });

  test('a carrier whose failoverOn names 486 fails over on it', async () => {
    const h = engineWith(trunking([carrier('first', C1, { failoverOn: [486, '5xx'] }), carrier('second', C2)]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    deliver(h.engine, answer(takeInvite(h, C1), 486), C1);
    await settle();
    const second = takeInvite(h, C2);
    assert.equal(finals(h, A_PORT).length, 0, 'the 486 is not relayed');
    deliver(h.engine, answer(second, 200, { sdp: SDP_B, port: C2 }), C2);
    await settle();
    assert.equal(takeFinal(h, A_PORT).status, 200);
    h.kernel.shutdown();
  });
});

describe('call actor: making a target ready', () => {
  test('the first carrier\'s provisional reaches the caller; its later 503 still fails over', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const first = takeInvite(h, C1);
    deliver(h.engine, answer(first, 180), C1);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(180)).length, 1);
    deliver(h.engine, answer(first, 503), C1);
    await settle();
    const second = takeInvite(h, C2);
    deliver(h.engine, answer(second, 200, { sdp: SDP_B, port: C2 }), C2);
    await settle();
    assert.equal(takeFinal(h, A_PORT).status, 200);
    h.kernel.shutdown();
  });

  test('a carrier host that does not resolve is skipped; one that does is called at its address', async () => {
    const config = trunking([
      { id: 'first', addresses: [{ host: 'gone.example', port: C1 }], sources: [] },
      { id: 'second', addresses: [{ host: 'carrier2.example', port: C2 }], sources: [] },
    ]);
    const h = engineWith(config, {
      resolve: async (host) => {
        if (host === 'carrier2.example') return '127.0.0.9';
        throw new Error(`no address for ${host}`);
      },
    });
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    assert.equal(h.link.take(C1).length, 0);
    const sent = h.link.sent.find((s) => s.to.port === C2);
    assert.equal(sent?.to.address, '127.0.0.9');
    const second = takeInvite(h, C2);
    assert.equal((second.uri as SipUri).host, 'carrier2.example');
    assert.equal(h.ctx.counters.get('failover'), 1);
    h.kernel.shutdown();
  });

  test('the caller cancels while the target is being resolved: 487, and no INVITE once it resolves', async () => {
    let resolveHost: ((address: string) => void) | undefined;
    const config = trunking([{ id: 'first', addresses: [{ host: 'slow.example', port: C1 }], sources: [] }]);
    const h = engineWith(config, { resolve: () => new Promise((r) => (resolveHost = r)) });
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    assert.ok(resolveHost, 'resolving');
    deliver(h.engine, cancelOf(invite), A_PORT);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(487, 'INVITE')).length, 1);
    resolveHost('127.0.0.9');
    await settle();
    assert.equal(h.link.take(C1).length, 0);
    assert.equal(h.ctx.calls.size, 0);
    h.kernel.shutdown();
  });

  test('a carrier over its own maxCps is skipped for the next carrier', async () => {
    let now = 1_000_000;
    const limiter = new LocalCallLimiter({ now: () => now });
    const h = engineWith(trunking([carrier('first', C1, { maxCps: 1 }), carrier('second', C2)]), { limiter });
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    takeInvite(h, C1);
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    assert.equal(h.link.take(C1, isReq('INVITE')).length, 0);
    takeInvite(h, C2);
    now += 1000;
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    takeInvite(h, C1);
    h.kernel.shutdown();
  });
});

describe('call actor: when every target fails', () => {
  test('502 then 503: the caller gets the 502', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    deliver(h.engine, answer(takeInvite(h, C1), 502), C1);
    await settle();
    deliver(h.engine, answer(takeInvite(h, C2), 503), C2);
    await settle();
    assert.equal(takeFinal(h, A_PORT).status, 502);
    assert.equal(h.ctx.counters.get('all-targets-failed'), 1);
    h.kernel.shutdown();
  });

  test('two 503s: the caller gets 503 All Routes Failed', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    deliver(h.engine, answer(takeInvite(h, C1), 503), C1);
    await settle();
    deliver(h.engine, answer(takeInvite(h, C2), 503), C2);
    await settle();
    const res = takeFinal(h, A_PORT);
    assert.equal(res.status, 503);
    assert.equal(res.reason, 'All Routes Failed');
    h.kernel.shutdown();
  });

  test('the best answer seen is relayed (§16.7): a 6xx before a 4xx before a 5xx, whatever the order', async () => {
    const all = { failoverOn: ['4xx', '5xx', '6xx'] };
    for (const [answers, expected] of [[[502, 404, 500], 404], [[404, 603, 502], 603], [[500, 502, 404], 404]] as const) {
      const h = engineWith(trunking([carrier('first', C1, all), carrier('second', C2, all), carrier('third', C3, all)]));
      deliver(h.engine, inviteFromA(), A_PORT);
      await settle();
      for (const [i, port] of [C1, C2, C3].entries()) {
        deliver(h.engine, answer(takeInvite(h, port), answers[i] as number), port);
        await settle();
      }
      assert.equal(takeFinal(h, A_PORT).status, expected, `answers ${answers.join(', ')}`);
      h.kernel.shutdown();
    }
  });

  test('an origination call whose URIs answer 503 then 500: the 500 is relayed (the best answer seen)', async () => {
    const h = engineWith(originationTrunking());
    deliver(h.engine, inviteFromA(), CARRIER_PORT, 'udp', CARRIER_SOURCE);
    await settle();
    deliver(h.engine, answer(takeInvite(h, PBX1), 503), PBX1);
    await settle();
    deliver(h.engine, answer(takeInvite(h, PBX2), 500), PBX2);
    await settle();
    const res = takeFinal(h, CARRIER_PORT);
    assert.equal(res.status, 500);
    h.kernel.shutdown();
  });

  test('an origination call whose every URI fails without an answer (503s, timeouts): 480 Temporarily Unavailable', async () => {
    const h = engineWith(originationTrunking());
    deliver(h.engine, inviteFromA(), CARRIER_PORT, 'udp', CARRIER_SOURCE);
    await settle();
    deliver(h.engine, answer(takeInvite(h, PBX1), 503), PBX1);
    await settle();
    const sent = h.link.sent.find((s) => s.to.port === PBX2 && s.message instanceof SipRequest && s.message.method === 'INVITE');
    assert.ok(sent?.ref);
    h.engine.onSendFailure({ v: 1, ref: sent.ref, reason: 'ECONNREFUSED', protocol: 'udp', address: '127.0.0.1', port: PBX2 });
    await settle();
    const res = takeFinal(h, CARRIER_PORT);
    assert.equal(res.status, 480);
    assert.equal(res.reason, 'Temporarily Unavailable');
    h.kernel.shutdown();
  });
});
