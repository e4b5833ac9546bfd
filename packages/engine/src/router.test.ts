// Calls through the engine's actors with a fake SIP link (the end-to-end tests use the real parts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipRequest, SipResponse } from '@switchboard/sip';
import { A_PORT, B_PORT, answer, deliver, establish, fromA, inviteFromA, isReq, isRes, makeEngine, SDP_B, settle } from './testing/harness.js';

describe('engine: a call through the B2BUA', () => {
  test('INVITE → 100 at once, B leg placed with its own Call-ID and tags, SDP relayed both ways, BYE ends both legs', async () => {
    const h = makeEngine();
    const invite = inviteFromA();
    const { bInvite, ok } = await establish(h, invite);
    // topology hiding: new Call-ID, From tag, no A-side Via or Contact on the B leg
    assert.notEqual(bInvite.headers.callId, ok.headers.callId);
    assert.notEqual(bInvite.headers.from?.tag, 'fa1');
    assert.doesNotMatch(bInvite.headers.get('contact') ?? '', /pbx@/);
    assert.equal(bInvite.headers.via.length, 1);
    assert.equal(bInvite.headers.maxForwards, 69);
    assert.match(Buffer.from(bInvite.body).toString(), /o=pbx 1 1/);
    assert.equal(Buffer.from(ok.body).toString(), SDP_B);
    // our tag names the call's slot (the harness's worker owns slot 1), not the worker; nor does the B leg's Call-ID
    assert.match(ok.headers.to?.tag ?? '', /^001[0-9a-f]{13}\.[0-9a-f]{12}$/);
    assert.equal(h.ctx.ids.slotOfTag(ok.headers.to?.tag ?? ''), 1);
    assert.match(bInvite.headers.callId ?? '', /^[0-9a-f]{32}@sb$/);
    assert.equal(h.ctx.ids.slotOfBranch(bInvite.headers.topVia?.branch ?? ''), 1);
    assert.equal(h.ctx.calls.size, 1);

    deliver(h.engine, fromA(ok, 'BYE', 2), A_PORT);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(200, 'BYE')).length, 1);
    const [byeB] = h.link.take(B_PORT, isReq('BYE'));
    assert.ok(byeB);
    deliver(h.engine, answer(byeB, 200), B_PORT);
    await settle();
    assert.equal(h.ctx.calls.size, 0);
    h.kernel.shutdown();
  });

  test('INVITE retransmissions are absorbed: one B leg, the last provisional again', async () => {
    const h = makeEngine();
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    deliver(h.engine, invite, A_PORT);
    deliver(h.engine, invite, A_PORT);
    await settle();
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 1);
    assert.equal(h.link.take(A_PORT, isRes(100)).length, 3);
    h.kernel.shutdown();
  });

  test('CANCEL before answer: 200 to the CANCEL, 487 to the INVITE, the B leg cancelled', async () => {
    const h = makeEngine();
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    const [bInvite] = h.link.take(B_PORT, isReq('INVITE'));
    assert.ok(bInvite);
    deliver(h.engine, answer(bInvite, 180), B_PORT);
    await settle();
    deliver(h.engine, invite.replace('INVITE sip:', 'CANCEL sip:').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL').replace(/Content-Type[^]*$/, 'Content-Length: 0\r\n\r\n'), A_PORT);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(200, 'CANCEL')).length, 1);
    assert.equal(h.link.take(A_PORT, isRes(487, 'INVITE')).length, 1);
    const [cancelB] = h.link.take(B_PORT, isReq('CANCEL'));
    assert.ok(cancelB);
    assert.equal(cancelB.headers.topVia?.branch, bInvite.headers.topVia?.branch);
    deliver(h.engine, answer(cancelB, 200), B_PORT);
    deliver(h.engine, answer(bInvite, 487), B_PORT);
    await settle();
    assert.equal(h.link.take(B_PORT, isReq('ACK')).length, 1, 'the 487 is ACKed');
    h.kernel.shutdown();
  });

  test('a failure on the B leg is relayed to the caller, who ACKs it', async () => {
    const h = makeEngine();
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const [bInvite] = h.link.take(B_PORT, isReq('INVITE'));
    assert.ok(bInvite);
    deliver(h.engine, answer(bInvite, 486), B_PORT);
    await settle();
    const [busy] = h.link.take(A_PORT, isRes(486));
    assert.ok(busy);
    assert.equal(h.link.take(B_PORT, isReq('ACK')).length, 1);
    h.kernel.shutdown();
  });

  test('a request for a dialog that is gone gets 481; OPTIONS outside a dialog gets 200 with Allow', async () => {
    const h = makeEngine();
    const { ok } = await establish(h);
    const ghost = fromA(ok, 'INFO', 5).replace(/To: (.*);tag=[^\r]*/, 'To: $1;tag=w1.deadbeef00000000.000000000000');
    deliver(h.engine, ghost, A_PORT);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(481)).length, 1);
    deliver(h.engine, 'OPTIONS sip:sb@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bKopt\r\nFrom: <sip:p@x>;tag=1\r\nTo: <sip:sb@127.0.0.1>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n', A_PORT);
    await settle();
    const [opt] = h.link.take(A_PORT, isRes(200, 'OPTIONS'));
    assert.match(opt?.headers.get('allow') ?? '', /INVITE.*BYE/);
    h.kernel.shutdown();
  });

  test('a request outside a dialog from an unknown source gets a bare 403 and is counted', async () => {
    const h = makeEngine();
    const options = 'OPTIONS sip:sb@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.99:5071;branch=z9hG4bKopt2\r\nFrom: <sip:p@x>;tag=1\r\nTo: <sip:sb@127.0.0.1>\r\nCall-ID: o2\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n';
    deliver(h.engine, options, A_PORT, 'udp', '127.0.0.99');
    deliver(h.engine, options.replaceAll('OPTIONS', 'REGISTER').replace('opt2', 'reg'), A_PORT, 'udp', '127.0.0.99');
    await settle();
    const refused = h.link.take(A_PORT, isRes(403));
    assert.equal(refused.length, 2);
    assert.deepEqual(refused.map((r) => (r as SipResponse).reason), ['Forbidden', 'Forbidden']);
    assert.equal(refused[0]?.headers.get('allow'), undefined, 'nothing about the service');
    assert.equal(h.ctx.counters.get('refused.unknown-source'), 2);
    h.kernel.shutdown();
  });

  test('a re-INVITE is relayed to the other leg and its answer back', async () => {
    const h = makeEngine();
    const { ok } = await establish(h);
    deliver(h.engine, fromA(ok, 'INVITE', 2, ['Content-Type: application/sdp'], 'v=0\r\ns=hold\r\n'), A_PORT);
    await settle();
    const [reinvite] = h.link.take(B_PORT, isReq('INVITE'));
    assert.ok(reinvite);
    assert.equal(Buffer.from(reinvite.body).toString(), 'v=0\r\ns=hold\r\n');
    assert.equal(reinvite.headers.to?.tag, 'btag');
    deliver(h.engine, answer(reinvite, 200, { sdp: 'v=0\r\ns=held\r\n' }), B_PORT);
    await settle();
    const [ok2] = h.link.take(A_PORT, isRes(200, 'INVITE'));
    assert.equal(Buffer.from(ok2?.body ?? []).toString(), 'v=0\r\ns=held\r\n');
    h.kernel.shutdown();
  });

  test('Max-Forwards 0 → 483; Session-Expires below Min-SE → 422 with Min-SE', async () => {
    const h = makeEngine();
    deliver(h.engine, inviteFromA().replace('Max-Forwards: 70', 'Max-Forwards: 0'), A_PORT);
    deliver(h.engine, inviteFromA({ headers: ['Session-Expires: 30'] }), A_PORT);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(483)).length, 1);
    const [small] = h.link.take(A_PORT, isRes(422));
    assert.equal(small?.headers.get('min-se'), '90');
    assert.equal(h.link.take(B_PORT).length, 0);
    h.kernel.shutdown();
  });
});

describe('engine: requests refused on inspection (RFC 3261 §8.2.1–§8.2.2)', () => {
  const options = (uri: string, extra: string[] = [], method = 'OPTIONS') =>
    [`${method} ${uri} SIP/2.0`, 'Via: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bKinsp' + Math.random().toString(36).slice(2), 'From: <sip:p@x>;tag=1', 'To: <sip:sb@127.0.0.1>',
      `Call-ID: insp-${Math.random()}`, `CSeq: 1 ${method}`, ...extra, 'Content-Length: 0', '', ''].join('\r\n');

  test('outside a dialog: unknown method 501, a known one not handled 405 with Allow, unknown URI scheme 416, unsupported Require 420 with Unsupported', async () => {
    const h = makeEngine();
    deliver(h.engine, options('sip:sb@127.0.0.1', [], 'NEWMETHOD'), A_PORT);
    deliver(h.engine, options('sip:sb@127.0.0.1', [], 'SUBSCRIBE'), A_PORT);
    deliver(h.engine, options('nobodyKnowsThisScheme:totallyopaquecontent'), A_PORT);
    deliver(h.engine, options('sip:sb@127.0.0.1', ['Require: nothingSupportsThis, timer', 'Proxy-Require: noProxiesSupportThis']), A_PORT);
    await settle();
    const [unknown] = h.link.take(A_PORT, isRes(501));
    assert.equal((unknown as SipResponse).reason, 'Not Implemented');
    const [notHere] = h.link.take(A_PORT, isRes(405));
    assert.match(notHere?.headers.get('allow') ?? '', /INVITE/);
    assert.equal((h.link.take(A_PORT, isRes(416))[0] as SipResponse).reason, 'Unsupported URI Scheme');
    const [bad] = h.link.take(A_PORT, isRes(420));
    assert.equal(bad?.headers.get('unsupported'), 'nothingSupportsThis');
    assert.equal(h.link.take(A_PORT, isRes(200)).length, 0, 'none of them answered 200');
    assert.deepEqual([h.ctx.counters.get('refused.unknown-method'), h.ctx.counters.get('refused.unsupported-uri-scheme'), h.ctx.counters.get('refused.bad-extension')], [1, 1, 1]);
    h.kernel.shutdown();
  });

  test('a new INVITE requiring an option we lack gets 420 and places no call', async () => {
    const h = makeEngine();
    deliver(h.engine, inviteFromA({ headers: ['Require: 100rel'] }), A_PORT);
    await settle();
    const [bad] = h.link.take(A_PORT, isRes(420, 'INVITE'));
    assert.equal(bad?.headers.get('unsupported'), '100rel');
    assert.equal(h.link.take(B_PORT).length, 0);
    assert.equal(h.ctx.calls.size, 0);
    h.kernel.shutdown();
  });

  test('within a dialog: an unknown method gets 501 and a Require we lack 420; the dialog goes on', async () => {
    const h = makeEngine();
    const { ok } = await establish(h);
    deliver(h.engine, fromA(ok, 'NEWMETHOD', 2), A_PORT);
    deliver(h.engine, fromA(ok, 'INFO', 3, ['Require: foo']), A_PORT);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(501, 'NEWMETHOD')).length, 1);
    const [bad] = h.link.take(A_PORT, isRes(420, 'INFO'));
    assert.equal(bad?.headers.get('unsupported'), 'foo');
    assert.equal(bad?.headers.to?.tag, ok.headers.to?.tag, 'answered within the dialog');
    assert.equal(h.link.take(B_PORT).length, 0, 'nothing relayed');
    deliver(h.engine, fromA(ok, 'BYE', 4), A_PORT);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(200, 'BYE')).length, 1);
    h.kernel.shutdown();
  });
});

describe('engine: nothing is left behind', () => {
  test('10,000 finished calls leave no actors, timers, transactions or index entries', async () => {
    // short timers so Timers L, M (64*T1) and K end the transactions soon after; T1 stays long
    // enough that Timer B cannot fire on a busy machine. Nothing is asserted about time.
    const h = makeEngine({ t1: 50, t2: 200, t4: 5 });
    for (let i = 0; i < 10_000; i++) {
      const { ok } = await establish(h);
      deliver(h.engine, fromA(ok, 'BYE', 2), A_PORT);
      await settle(6);
      const [byeB] = h.link.take(B_PORT, isReq('BYE'));
      assert.ok(byeB);
      deliver(h.engine, answer(byeB, 200), B_PORT);
      await settle(4);
      h.link.sent.length = 0;
    }
    // Timers L, M and K end the last transactions a few T1 later: wait for that, however busy the machine
    const timers = () => (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    for (let i = 0; i < 300 && (h.kernel.size > 1 || timers() > 0); i++) await new Promise((r) => setTimeout(r, 50));
    await settle();
    assert.equal(h.ctx.calls.size, 0, 'calls');
    assert.equal(h.ctx.invites.size, 0, 'INVITE index');
    assert.equal(h.kernel.size, 1, 'actors: only the CDR actor');
    assert.equal(h.records.length, 10_000, 'every call left its record (and the CDR actor let go of it)');
    assert.equal(timers(), 0, 'timers');
    h.kernel.shutdown();
  });
});

describe('engine: supervision', () => {
  test('a leg actor that throws ends its call cleanly: 500 to the caller, the other leg cancelled', async () => {
    const h = makeEngine();
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const [bInvite] = h.link.take(B_PORT, isReq('INVITE'));
    assert.ok(bInvite);
    deliver(h.engine, answer(bInvite, 180), B_PORT);
    await settle();
    h.link.take(A_PORT);
    // make the caller's leg fail on its next command
    const aLeg = [...h.ctx.invites.values()][0] as string;
    h.kernel.find<{ type: string }>(aLeg)?.tell({ type: 'answer', status: 183, headers: 42 } as never);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(500, 'INVITE')).length, 1, 'the caller is answered');
    const [cancel] = h.link.take(B_PORT, isReq('CANCEL'));
    assert.ok(cancel, 'the far leg is cancelled');
    assert.equal(h.kernel.find(aLeg), undefined);
    deliver(h.engine, answer(cancel, 200), B_PORT);
    deliver(h.engine, answer(bInvite, 487), B_PORT);
    await settle();
    assert.equal(h.ctx.calls.size, 0);
    h.kernel.shutdown();
  });
});

const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), what);
};

describe('engine: dialog rules and timers', () => {
  test('no ACK for our 2xx (§13.3.1.4): the 200 is retransmitted, then BYE to the caller and the far leg', async () => {
    const h = makeEngine({ t1: 10, t2: 40, t4: 10 });
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const [bInvite] = h.link.take(B_PORT, isReq('INVITE'));
    assert.ok(bInvite);
    deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B }), B_PORT);
    await waitFor(() => h.link.sent.some((s) => s.to.port === A_PORT && s.message instanceof SipRequest && s.message.method === 'BYE'), 'BYE to the caller');
    assert.ok(h.link.take(A_PORT, isRes(200, 'INVITE')).length > 1, 'the 2xx was retransmitted');
    await waitFor(() => h.link.sent.some((s) => s.to.port === B_PORT && s.message instanceof SipRequest && s.message.method === 'BYE'), 'BYE to the far leg');
    h.kernel.shutdown();
  });

  test('an in-dialog request with a lower CSeq than the last one gets 500 (§12.2.2)', async () => {
    const h = makeEngine();
    const { ok } = await establish(h);
    deliver(h.engine, fromA(ok, 'INFO', 5), A_PORT);
    await settle();
    deliver(h.engine, fromA(ok, 'INFO', 3), A_PORT);
    await settle();
    const [r] = h.link.take(A_PORT, isRes(500, 'INFO'));
    assert.equal((r as SipResponse | undefined)?.reason, 'CSeq Out of Order');
    h.kernel.shutdown();
  });

  test('a transport error on the far leg fails the call: the caller gets 503', async () => {
    const h = makeEngine();
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const sent = h.link.sent.find((s) => s.to.port === B_PORT);
    assert.ok(sent?.ref);
    h.engine.onSendFailure({ v: 1, ref: sent.ref, reason: 'ECONNREFUSED', protocol: 'udp', address: '127.0.0.9', port: B_PORT });
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(503, 'INVITE')).length, 1);
    h.kernel.shutdown();
  });

  test('a silent far end: Timer B ends the attempt; with no other target the caller gets 503 All Routes Failed', async () => {
    const h = makeEngine({ t1: 10, t2: 40, t4: 10 });
    deliver(h.engine, inviteFromA(), A_PORT);
    await waitFor(() => h.link.sent.some((s) => s.to.port === A_PORT && s.message instanceof SipResponse && s.message.status === 503 && s.message.reason === 'All Routes Failed'), '503 to the caller');
    assert.ok(h.link.take(B_PORT, isReq('INVITE')).length > 1, 'Timer A retransmitted the INVITE');
    h.kernel.shutdown();
  });

  test('session timer with the engine as refresher: an UPDATE refreshes the caller at half the interval (RFC 4028 §10)', async () => {
    const h = makeEngine(undefined, undefined, 1);
    await establish(h, inviteFromA({ headers: ['Session-Expires: 2;refresher=uas', 'Supported: timer'] }));
    await waitFor(() => h.link.sent.some((s) => s.to.port === A_PORT && s.message instanceof SipRequest && s.message.method === 'UPDATE'), 'UPDATE to the caller');
    const update = h.link.take(A_PORT, isReq('UPDATE'))[0];
    assert.match(update?.headers.get('session-expires') ?? '', /^2;refresher=uas/);
    h.kernel.shutdown();
  });
});

describe('engine: calls that would never end', () => {
  test('a far end that rings too long is cancelled (408 No Answer to the caller); one that never answers the CANCEL is abandoned after 64*T1 (§9.1)', async () => {
    const h = makeEngine({ t1: 10, t2: 40, t4: 10 });
    h.ctx.noAnswerMs = 100;
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const [bInvite] = h.link.take(B_PORT, isReq('INVITE'));
    assert.ok(bInvite);
    deliver(h.engine, answer(bInvite, 180), B_PORT);
    await waitFor(() => h.link.sent.some((s) => s.to.port === B_PORT && s.message instanceof SipRequest && s.message.method === 'CANCEL'), 'CANCEL to the far end');
    await waitFor(() => h.link.sent.some((s) => s.to.port === A_PORT && s.message instanceof SipResponse && s.message.status === 408), '408 to the caller');
    // the far end answers neither the CANCEL nor the INVITE: the call still ends
    await waitFor(() => h.ctx.calls.size === 0, 'the call is gone');
    await waitFor(() => h.kernel.size === 1, 'no actor but the CDR actor is left');
    h.kernel.shutdown();
  });
});

describe('engine: glare', () => {
  test('a re-INVITE arriving while ours is pending on that leg gets 491 (§14.1)', async () => {
    const h = makeEngine();
    const { bInvite, ok } = await establish(h);
    deliver(h.engine, fromA(ok, 'INVITE', 2, ['Content-Type: application/sdp'], 'v=0\r\ns=hold\r\n'), A_PORT);
    await settle();
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 1, 'our re-INVITE is pending towards the far end');
    const theirs = [
      'INVITE sip:sb@127.0.0.1:5060 SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKglare1',
      'Max-Forwards: 70',
      'From: <sip:carrier@127.0.0.1>;tag=btag',
      `To: ${bInvite.headers.get('from')}`,
      `Call-ID: ${bInvite.headers.callId}`,
      'CSeq: 5 INVITE',
      'Contact: <sip:carrier@127.0.0.1:5080>',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    deliver(h.engine, theirs, B_PORT);
    await settle();
    assert.equal(h.link.take(B_PORT, isRes(491, 'INVITE')).length, 1);
    h.kernel.shutdown();
  });
});
