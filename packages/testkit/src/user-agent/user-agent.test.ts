import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { SipRequest } from '@switchboard/sip';
import { bumpSdpVersion, parseSdp, sdpAnswer, sdpOffer } from '../sdp.js';
import { TcpSipClient, UdpSipClient } from '../sip-clients.js';
import { requestText } from '../sip-text.js';
import { isFinalNotify, sipfragStatus } from './bodies.js';
import type { SipTransport, UserAgentOptions } from './options.js';
import { UserAgent } from './user-agent.js';

/** A "PBX" and a "carrier" talking directly to each other, stopped when the test ends. */
async function pair(t: TestContext, transport: SipTransport, extra: Partial<UserAgentOptions> = {}): Promise<{ pbx: UserAgent; carrier: UserAgent }> {
  const pbx = await UserAgent.start({ name: 'pbx', transport, ...extra });
  const carrier = await UserAgent.start({ name: 'carrier', transport, ...extra });
  t.after(async () => {
    await pbx.stop();
    await carrier.stop();
  });
  return { pbx, carrier };
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

for (const transport of ['udp', 'tcp'] as const) {
  describe(`UserAgent over ${transport.toUpperCase()}`, () => {
    test('call set up by the PBX, hung up by the PBX', async (t) => {
      const { pbx, carrier } = await pair(t, transport);
      carrier.onInvite({ ring: 0, answerAfter: 50 });
      const call = pbx.call({ to: carrier.uri, headers: [['X-Case', 'one']] });

      assert.equal((await call.ringing).status, 180);
      const ok = await call.answered;
      assert.equal(ok.status, 200);
      await call.established;
      const incoming = await carrier.nextCall();
      const ack = await incoming.established;
      assert.equal(ack.method, 'ACK');
      assert.equal(call.state, 'confirmed');
      assert.equal(incoming.state, 'confirmed');

      // the INVITE as RFC 3261 §8.1.1 wants it
      const [invite] = carrier.received('INVITE');
      assert.ok(invite);
      const h = invite.headers;
      assert.match(h.topVia?.branch ?? '', /^z9hG4bK/);
      assert.equal(h.topVia?.transport, transport.toUpperCase());
      assert.ok(h.from?.tag);
      assert.equal(h.to?.tag, undefined);
      assert.equal(h.callId, call.callId);
      assert.equal(h.cseq?.toString(), '1 INVITE');
      assert.equal(h.maxForwards, 70);
      assert.equal(h.contact[0]?.uri.toString(), pbx.contactUri.toString());
      assert.equal(h.get('content-type'), 'application/sdp');
      assert.equal(h.get('x-case'), 'one');
      assert.equal(transport === 'tcp', pbx.contactUri.toString().endsWith(';transport=tcp'));

      // SDP went through byte for byte both ways
      assert.equal(text(invite.body), call.localSdp);
      assert.equal(incoming.remoteSdp, call.localSdp);
      assert.equal(call.remoteSdp, incoming.localSdp);
      assert.equal(text(ok.body), incoming.localSdp);

      // the ACK is in the dialog: To tag of the 200, CSeq number of the INVITE, a new branch
      assert.equal(ack.headers.to?.tag, incoming.localTag);
      assert.equal(ack.headers.cseq?.toString(), '1 ACK');
      assert.notEqual(ack.headers.topVia?.branch, h.topVia?.branch);

      const byeOk = await call.hangup();
      assert.equal(byeOk.status, 200);
      const end = await incoming.ended;
      assert.equal(end.by, 'remote');
      assert.equal(end.how, 'bye');
      assert.deepEqual([(await call.ended).by, (await call.ended).how], ['local', 'bye']);
      const [bye] = carrier.received('BYE');
      assert.equal(bye?.headers.cseq?.toString(), '2 BYE');
      assert.equal(incoming.state, 'terminated');
      // every message of the call is in both logs
      assert.deepEqual(
        pbx.log.map((e) => `${e.dir} ${e.message.startLine}`).filter((l) => !l.includes('100 Trying')),
        [
          `out INVITE ${carrier.uri} SIP/2.0`, 'in SIP/2.0 180 Ringing', 'in SIP/2.0 200 OK',
          `out ACK ${carrier.contactUri} SIP/2.0`, `out BYE ${carrier.contactUri} SIP/2.0`, 'in SIP/2.0 200 OK',
        ],
      );
    });

    test('call hung up by the carrier', async (t) => {
      const { pbx, carrier } = await pair(t, transport);
      carrier.onInvite({ hangupAfter: 50 });
      const call = pbx.call({ to: carrier.uri });
      await call.answered;
      const end = await call.ended;
      assert.equal(end.by, 'remote');
      assert.equal(end.how, 'bye');
      assert.equal(end.message?.kind === 'request' && end.message.method, 'BYE');
      const incoming = await carrier.nextCall();
      assert.deepEqual([(await incoming.ended).by, (await incoming.ended).how], ['local', 'bye']);
      // the carrier's BYE went to the PBX's Contact with the PBX's tags swapped
      const bye = pbx.received('BYE')[0] as SipRequest;
      assert.equal(bye.uri.toString(), pbx.contactUri.toString());
      assert.equal(bye.headers.from?.tag, incoming.localTag);
      assert.equal(bye.headers.to?.tag, call.localTag);
      await carrier.waitFor({ dir: 'in', status: 200, cseqMethod: 'BYE' });
    });

    test('a rejected call: 486 and its ACK', async (t) => {
      const { pbx, carrier } = await pair(t, transport);
      carrier.onInvite({ reject: 486 });
      const call = pbx.call({ to: carrier.uri });
      const res = await call.failed;
      assert.equal(res.status, 486);
      await assert.rejects(call.answered, /was not answered: 486 Busy Here/);
      assert.deepEqual([(await call.ended).by, (await call.ended).how], ['remote', 'rejected']);
      // the §17.1.1.3 ACK: same branch as the INVITE, To tag of the 486
      const ack = (await carrier.waitFor({ dir: 'in', method: 'ACK' })).message as SipRequest;
      const invite = carrier.received('INVITE')[0] as SipRequest;
      assert.equal(ack.headers.topVia?.branch, invite.headers.topVia?.branch);
      assert.equal(ack.headers.to?.tag, res.headers.to?.tag);
      assert.equal(ack.headers.cseq?.toString(), '1 ACK');
      const incoming = await carrier.nextCall();
      assert.equal((await incoming.failed).status, 486);
      assert.equal(incoming.acks.length, 1);
    });

    test('CANCEL before the answer: 200 to the CANCEL, 487 to the INVITE', async (t) => {
      const { pbx, carrier } = await pair(t, transport);
      carrier.onInvite({ ring: 0, answer: false });
      const call = pbx.call({ to: carrier.uri });
      await call.ringing;
      const final = await call.cancel();
      assert.equal(final.status, 487);
      await pbx.waitFor({ dir: 'in', status: 200, cseqMethod: 'CANCEL' });
      assert.equal(call.cancelResponse?.status, 200);
      assert.deepEqual([(await call.ended).by, (await call.ended).how], ['local', 'cancel']);
      const incoming = await carrier.nextCall();
      const end = await incoming.ended;
      assert.equal(end.by, 'remote');
      assert.equal(end.how, 'cancel');
      const cancel = carrier.received('CANCEL')[0] as SipRequest;
      const invite = carrier.received('INVITE')[0] as SipRequest;
      assert.equal(cancel.headers.topVia?.branch, invite.headers.topVia?.branch);
      assert.equal(cancel.headers.cseq?.toString(), '1 CANCEL');
      await carrier.waitFor({ dir: 'in', method: 'ACK' });
      assert.equal(incoming.state, 'terminated');
    });

    test('re-INVITE from each side, INFO and OPTIONS in the dialog', async (t) => {
      const { pbx, carrier } = await pair(t, transport);
      const call = pbx.call({ to: carrier.uri });
      await call.established;
      const incoming = await carrier.nextCall();
      await incoming.established;

      const offer = sdpOffer('pbx-hold', 40_000, { direction: 'sendonly' });
      const res = await call.reinvite(offer);
      assert.equal(res.status, 200);
      assert.equal(incoming.remoteSdp, offer);
      assert.equal(text(res.body), incoming.localSdp);
      const reinvite = await incoming.waitForRequest('INVITE');
      assert.equal(reinvite.headers.cseq?.toString(), '2 INVITE');
      await carrier.waitFor((e) => e.dir === 'in' && e.message.kind === 'request' && e.message.method === 'ACK' && e.message.headers.cseq?.seq === 2);

      // from the carrier, with its own SDP bumped
      const before = incoming.localSdp as string;
      const back = await incoming.reinvite();
      assert.equal(back.status, 200);
      assert.equal(call.remoteSdp, bumpSdpVersion(before));
      assert.equal(parseSdp(call.remoteSdp as string).origin?.version, 2);
      await pbx.waitFor({ dir: 'in', method: 'ACK' });

      const info = await call.request('INFO', { body: 'Signal=5\r\nDuration=160\r\n', contentType: 'application/dtmf-relay' });
      assert.equal(info.status, 200);
      const got = await incoming.waitForRequest('INFO');
      assert.equal(text(got.body), 'Signal=5\r\nDuration=160\r\n');
      assert.equal(got.headers.get('content-type'), 'application/dtmf-relay');
      assert.equal((await incoming.request('OPTIONS')).status, 200);

      // a handler overrides the default answer
      incoming.onRequest('UPDATE', 488);
      assert.equal((await call.request('UPDATE', { body: sdpOffer('pbx'), contentType: 'application/sdp' })).status, 488);

      assert.equal((await incoming.hangup()).status, 200);
      assert.equal((await call.ended).by, 'remote');
    });

    test('REFER: 202, then the NOTIFYs of the implicit subscription, each answered 200', async (t) => {
      const { pbx, carrier } = await pair(t, transport);
      const call = pbx.call({ to: carrier.uri });
      await call.established;
      const incoming = await carrier.nextCall();

      const accepted = await call.refer('sip:+15550001111@127.0.0.1', { referredBy: `<${pbx.uri}>` });
      assert.equal(accepted.status, 202);
      const refer = incoming.refers[0] as SipRequest;
      assert.equal(refer.headers.referTo?.uri.toString(), 'sip:+15550001111@127.0.0.1');
      assert.equal(refer.headers.referredBy?.uri.toString(), pbx.uri.toString());

      assert.equal((await incoming.notify('SIP/2.0 100 Trying', 'active;expires=60')).status, 200);
      assert.equal((await incoming.notify('SIP/2.0 200 OK', 'terminated;reason=noresource')).status, 200);
      const last = await call.waitForNotify(isFinalNotify);
      assert.deepEqual(call.notifies.map(sipfragStatus), [100, 200]);
      assert.equal(last.headers.event?.value, 'refer');
      assert.equal(last.headers.get('content-type'), 'message/sipfrag;version=2.0');
      assert.equal(pbx.sentResponses(200, 'NOTIFY').length, 2);

      // Refer-Sub: false (RFC 4488)
      await call.refer(`<sip:other@127.0.0.1>`, { referSub: false });
      assert.equal(incoming.refers[1]?.headers.referSub, false);
      await call.hangup();
    });
  });
}

describe('UserAgent retransmissions over UDP', () => {
  test('Timer A: the INVITE is retransmitted while the far side ignores it, then answered', async (t) => {
    const { pbx, carrier } = await pair(t, 'udp');
    carrier.onNextInvite({ ignoreFor: 1_200 });
    const call = pbx.call({ to: carrier.uri });
    await call.answered;
    await call.established;
    const sent = pbx.entries({ dir: 'out', method: 'INVITE' });
    assert.ok(sent.length >= 2, `INVITE sent ${sent.length} times`);
    assert.deepEqual(sent.map((e) => e.retransmission), [false, ...sent.slice(1).map(() => true)]);
    for (const e of sent) assert.ok(e.raw.equals((sent[0] as (typeof sent)[0]).raw), 'a retransmission is the same bytes');
    const received = carrier.entries({ dir: 'in', method: 'INVITE' });
    assert.ok(received.length >= 2, `INVITE received ${received.length} times`);
    assert.equal(received.filter((e) => e.retransmission).length, received.length - 1);
    assert.equal(carrier.calls.length, 1, 'the retransmissions are one call');
    await call.hangup();
  });

  test('Timer B: no answer at all fails the call with a local 408', async (t) => {
    const { pbx, carrier } = await pair(t, 'udp', { t1: 40 });
    carrier.onNextInvite({ ignore: true });
    const call = pbx.call({ to: carrier.uri });
    const res = await call.failed;
    assert.equal(res.status, 408);
    assert.ok(call.timedOut);
    assert.deepEqual([(await call.ended).by, (await call.ended).how], ['local', 'timeout']);
    assert.ok(pbx.sent('INVITE').length >= 5);
    assert.equal(carrier.entries({ dir: 'out' }).length, 0);
  });

  test('the 2xx is retransmitted until the ACK comes', async (t) => {
    const { pbx, carrier } = await pair(t, 'udp');
    const call = pbx.call({ to: carrier.uri, ackAfter: 1_200 });
    const incoming = await carrier.nextCall();
    await incoming.answered;
    await incoming.established;
    const oks = carrier.entries({ dir: 'out', status: 200, cseqMethod: 'INVITE' });
    assert.ok(oks.length >= 2, `200 sent ${oks.length} times`);
    assert.ok(oks.slice(1).every((e) => e.retransmission && e.raw.equals((oks[0] as (typeof oks)[0]).raw)));
    assert.ok(pbx.entries({ dir: 'in', status: 200, cseqMethod: 'INVITE' }).length >= 2);
    // no retransmission once the ACK is in
    const count = oks.length;
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(carrier.entries({ dir: 'out', status: 200, cseqMethod: 'INVITE' }).length, count);
    await call.hangup();
  });

  test('a retransmitted 2xx is ACKed again', async (t) => {
    const { pbx, carrier } = await pair(t, 'udp');
    const call = pbx.call({ to: carrier.uri });
    await call.established;
    const incoming = await carrier.nextCall();
    await incoming.established;
    // replay the carrier's 200 to the PBX as a retransmission would
    const ok = carrier.entries({ dir: 'out', status: 200, cseqMethod: 'INVITE' })[0];
    assert.ok(ok);
    const fake = await UdpSipClient.open();
    t.after(() => fake.close());
    await fake.send(ok.raw, pbx.port);
    const acks = await pbx.waitFor({ dir: 'out', method: 'ACK', retransmission: true });
    assert.ok(acks.raw.equals(pbx.entries({ dir: 'out', method: 'ACK' })[0]?.raw ?? Buffer.alloc(0)));
    await call.hangup();
  });
});

describe('UserAgent odds and ends', () => {
  test('out-of-dialog requests: OPTIONS answered 200, others by answerRequests', async (t) => {
    const { pbx, carrier } = await pair(t, 'udp');
    const res = await pbx.request('OPTIONS', { to: carrier.uri });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('allow') ?? '', /INVITE/);
    assert.equal((await pbx.request('MESSAGE', { to: carrier.uri, body: 'hi' })).status, 501);
    carrier.answerRequests('MESSAGE', 202);
    assert.equal((await pbx.request('MESSAGE', { to: carrier.uri, body: 'hi' })).status, 202);
    // a request with a To tag for a dialog the UA does not know
    const raw = await UdpSipClient.open();
    t.after(() => raw.close());
    await raw.send(requestText({ method: 'BYE', uri: carrier.uri.toString(), toTag: 'nosuch', viaPort: raw.port }), carrier.port);
    const res481 = await raw.next((m) => m.kind === 'response');
    assert.equal(res481.kind === 'response' && res481.status, 481);
  });

  test('a scripted INVITE handler can pick its answer per request', async (t) => {
    const { pbx, carrier } = await pair(t, 'udp');
    carrier.onInvite((invite) => (invite.headers.get('x-busy') === 'yes' ? { reject: 486 } : { sdp: sdpAnswer('fixed', 30_000) }));
    const busy = pbx.call({ to: carrier.uri, headers: [['X-Busy', 'yes']] });
    const free = pbx.call({ to: carrier.uri });
    assert.equal((await busy.failed).status, 486);
    assert.equal(parseSdp(text((await free.answered).body)).media[0]?.port, 30_000);
    assert.equal(parseSdp(text((await free.answered).body)).origin?.user, 'fixed');
    await free.hangup();
  });

  test('the ACK follows the route set: Record-Route of the 2xx, reversed', async (t) => {
    const { pbx, carrier } = await pair(t, 'udp');
    const proxy = await UdpSipClient.open();
    t.after(() => proxy.close());
    // as if two proxies had record-routed: the one nearer the caller comes last in the response
    const far = `<sip:127.0.0.1:9;lr>`;
    const near = `<sip:127.0.0.1:${proxy.port};lr>`;
    carrier.onInvite({ headers: [['Record-Route', `${far}, ${near}`]] });
    const call = pbx.call({ to: carrier.uri });
    await call.answered;
    const ack = await proxy.next((m) => m.kind === 'request' && m.method === 'ACK');
    assert.equal(ack.kind === 'request' && ack.uri.toString(), carrier.contactUri.toString());
    assert.deepEqual(ack.headers.getAll('route'), [near, far]);
    assert.deepEqual(call.routeSet.map(String), [near, far]);
  });

  test('a delayed offer: no SDP in the INVITE, the offer in the 200, the answer in the ACK', async (t) => {
    const { pbx, carrier } = await pair(t, 'udp');
    const call = pbx.call({ to: carrier.uri, sdp: false });
    const ok = await call.answered;
    await call.established;
    const incoming = await carrier.nextCall();
    await incoming.established;
    assert.equal(incoming.invite.body.length, 0);
    assert.equal(text(ok.body), incoming.localSdp);
    assert.equal(incoming.remoteSdp, call.localSdp);
    assert.equal(parseSdp(incoming.remoteSdp ?? '').media[0]?.formats[0], '0');
    await call.hangup();
  });

  test('a wait that times out says what the UA saw', async (t) => {
    const { pbx, carrier } = await pair(t, 'udp');
    carrier.onInvite({ ring: 0, answer: false });
    const call = pbx.call({ to: carrier.uri });
    await call.ringing;
    await assert.rejects(call.wait('answered', 150), (err: Error) => {
      assert.match(err.message, /timed out after 150 ms waiting for the 2xx of call \S+ \(uac\)/);
      assert.match(err.message, /-> 127\.0\.0\.1:\d+ INVITE sip:carrier@/);
      assert.match(err.message, /<- 127\.0\.0\.1:\d+ SIP\/2\.0 180 Ringing/);
      return true;
    });
    await assert.rejects(pbx.waitFor({ method: 'BYE' }, 100), /timed out after 100 ms waiting for a message matching \{"method":"BYE"\}/);
    assert.equal((await call.cancel()).status, 487);
  });

  test('a CRLFCRLF ping over TCP gets its CRLF pong', async (t) => {
    const ua = await UserAgent.start({ name: 'tcp-ua', transport: 'tcp' });
    t.after(() => ua.stop());
    const client = await TcpSipClient.connect(ua.port);
    t.after(() => client.close());
    await client.write('\r\n\r\n');
    const deadline = Date.now() + 2_000;
    while (client.pongs === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(client.pongs, 1);
    assert.equal(ua.pings, 1);
  });

  test('stop() rejects pending waits', async () => {
    const ua = await UserAgent.start({ name: 'short-lived' });
    const waiting = ua.nextCall(5_000);
    await ua.stop();
    await assert.rejects(waiting, /stopped/);
  });
});
