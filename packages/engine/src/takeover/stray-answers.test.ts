// A 2xx to an INVITE whose leg is not on this worker (a dead worker's ringing call answered after
// the kill, a leg we cancelled): ACKed, then ended with one BYE (RFC 3261 §13.2.2.4, §15).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMessage, SipRequest, type SipMessage, type SipResponse } from '@switchboard/sip';
import { newRoutingScope } from '@switchboard/wire';
import { B_PORT, answer, deliver, isReq, makeEngine, settle } from '../testing/harness.js';
import { VirtualTime } from '../testing/virtual-time.js';
import { STRAY_ANSWER_REASON } from './stray-answers.js';

describe('stray answers', () => {
  test('a 2xx for no leg: ACK (its CSeq, to its Contact, through its Record-Route reversed) then one BYE with a Reason; a retransmission is ACKed again, no second BYE; counted', async (t) => {
    const clock = new VirtualTime(t);
    const h = makeEngine({ t1: 500, t2: 4000, t4: 5000 });
    const { raw, ourTag } = strayInvite(h, 7);
    const ok = withRecordRoute(answer(raw, 200, { tag: 'carrier1' }));
    deliver(h.engine, ok, B_PORT);
    await settle();
    const [ack] = h.link.take(B_PORT, isReq('ACK'));
    assert.ok(ack instanceof SipRequest, 'the 2xx is ACKed');
    assert.equal(ack.headers.cseq?.seq, 7, 'the ACK carries the 2xx\'s CSeq number');
    assert.equal(ack.uri.toString(), `sip:carrier@127.0.0.1:${B_PORT}`, 'to the 2xx\'s Contact');
    assert.deepEqual(ack.headers.getAll('route'), ['<sip:p2.example;lr>', '<sip:p1.example;lr>'], 'the Record-Route reversed');
    assert.equal(ack.headers.from?.tag, ourTag);
    assert.equal(ack.headers.to?.tag, 'carrier1');
    const [bye] = h.link.take(B_PORT, isReq('BYE'));
    assert.ok(bye instanceof SipRequest, 'then a BYE');
    assert.equal(bye.headers.cseq?.seq, 8, 'above the INVITE\'s CSeq');
    assert.equal(bye.headers.get('reason'), STRAY_ANSWER_REASON);
    assert.equal(h.ctx.ids.slotOfBranch(bye.headers.topVia?.branch ?? ''), 1, 'its branch names the slot, so its 200 comes back here');

    deliver(h.engine, ok, B_PORT);
    await settle();
    assert.equal(h.link.take(B_PORT, isReq('ACK')).length, 1, 'a retransmitted 2xx is ACKed again');
    assert.equal(h.link.take(B_PORT, isReq('BYE')).length, 0, 'and draws no second BYE');
    deliver(h.engine, answer(bye, 200), B_PORT);
    await settle();
    assert.equal(h.ctx.counters.get('stray-answers.ended'), 1);
    assert.equal(h.ctx.counters.get('stray-answers.re-acked'), 1);
    assert.equal(h.kernel.size > 0, true, 'it lingers for the 2xx retransmission window');
    const actors = h.kernel.size;
    await clock.advance(64 * 500 + 100, 500);
    assert.equal(h.kernel.size, actors - 1, 'then it is gone');
    assert.equal(h.link.take(B_PORT, isReq('BYE')).length, 0, 'its BYE, answered, was never sent again');
    h.kernel.shutdown();
  });

  test('over UDP an unanswered BYE is retransmitted (a client transaction), and a 2xx of another fork gets its own ACK and BYE', async (t) => {
    const clock = new VirtualTime(t);
    const h = makeEngine({ t1: 500, t2: 4000, t4: 5000 });
    const { raw } = strayInvite(h, 1);
    deliver(h.engine, answer(raw, 200, { tag: 'fork1' }), B_PORT);
    deliver(h.engine, answer(raw, 200, { tag: 'fork2' }), B_PORT);
    await settle();
    assert.equal(h.link.take(B_PORT, isReq('ACK')).length, 2);
    const byes = h.link.take(B_PORT, isReq('BYE'));
    assert.deepEqual(byes.map((b) => b.headers.to?.tag).sort(), ['fork1', 'fork2'], 'one BYE per dialog');
    await clock.advance(600, 100);
    assert.equal(h.link.take(B_PORT, isReq('BYE')).length, 2, 'Timer E: each BYE again');
    h.kernel.shutdown();
  });

  test('the ACK and BYE go to the first Route (§12.2.1.1, loose routing), not to where the 2xx came from; the BYE\'s retransmissions too', async (t) => {
    const clock = new VirtualTime(t);
    const h = makeEngine({ t1: 500, t2: 4000, t4: 5000 });
    const { raw } = strayInvite(h, 3);
    const ok = answer(raw, 200, { tag: 'routed' });
    ok.headers.add('Record-Route', '<sip:127.0.0.77:5099;lr>'); // the proxy nearest us: last Record-Route, first Route
    ok.headers.add('Record-Route', '<sip:127.0.0.66:5098;lr>');
    deliver(h.engine, ok, B_PORT);
    await settle();
    assert.deepEqual(h.link.sent.map((s) => [methodOf(s.message), s.to.address, s.to.port]), [['ACK', '127.0.0.66', 5098], ['BYE', '127.0.0.66', 5098]]);
    await clock.advance(600, 100);
    assert.deepEqual(h.link.sent.slice(2).map((s) => [methodOf(s.message), s.to.address, s.to.port]), [['BYE', '127.0.0.66', 5098]], 'Timer E: to the same place');
    h.kernel.shutdown();
  });

  test('no route set: to the 2xx\'s Contact; a Route or Contact by host name (no resolver here): to the 2xx\'s source', async () => {
    const h = makeEngine();
    const first = strayInvite(h, 1);
    deliver(h.engine, answer(first.raw, 200, { tag: 'direct', port: 5085 }), B_PORT);
    await settle();
    assert.deepEqual(h.link.sent.splice(0).map((s) => [methodOf(s.message), s.to.port]), [['ACK', 5085], ['BYE', 5085]], 'to the Contact');
    const second = strayInvite(h, 1, 2);
    deliver(h.engine, withRecordRoute(answer(second.raw, 200, { tag: 'named', port: 5085 })), B_PORT);
    await settle();
    assert.deepEqual(h.link.sent.splice(0).map((s) => [methodOf(s.message), s.to.port]), [['ACK', B_PORT], ['BYE', B_PORT]], 'a named first Route: to the source');
    h.kernel.shutdown();
  });

  test('a non-2xx for no leg is dropped, as before', async () => {
    const h = makeEngine();
    const { raw } = strayInvite(h, 1);
    deliver(h.engine, answer(raw, 486), B_PORT);
    await settle();
    assert.equal(h.link.sent.length, 0);
    assert.equal(h.ctx.counters.get('stray-answers.ended'), 0);
    h.kernel.shutdown();
  });
});

/** The INVITE a leg of slot 1 sent to the carrier, on a worker that is gone. */
function strayInvite(h: ReturnType<typeof makeEngine>, cseq: number, slot = 1): { raw: SipRequest; ourTag: string } {
  const ourTag = h.ctx.ids.newTag(newRoutingScope(slot));
  const text = [
    'INVITE sip:+14155550100@127.0.0.9:5080 SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=${h.ctx.ids.newBranch(newRoutingScope(slot))};rport`,
    'Max-Forwards: 70',
    `From: <sip:+12125550100@switchboard.example>;tag=${ourTag}`,
    'To: <sip:+14155550100@127.0.0.9>',
    'Call-ID: 0123456789abcdef0123456789abcdef@sb',
    `CSeq: ${cseq} INVITE`,
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
  return { raw: parseMessage(Buffer.from(text)) as SipRequest, ourTag };
}

const methodOf = (m: SipMessage) => (m instanceof SipRequest ? m.method : String((m as SipResponse).status));

/** As if two proxies had record-routed the INVITE. */
function withRecordRoute(res: ReturnType<typeof answer>): ReturnType<typeof answer> {
  res.headers.add('Record-Route', '<sip:p1.example;lr>');
  res.headers.add('Record-Route', '<sip:p2.example;lr>');
  return res;
}
