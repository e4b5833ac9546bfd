// The leg's own timers, through the engine with a fake SIP link: RFC 4028 refreshes it sends itself.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createResponse, SipRequest, SipResponse } from '@switchboard/sip';
import { A_PORT, B_PORT, answer, deliver, fromA, inviteFromA, isReq, makeEngine, settle } from '../testing/harness.js';

const SDP_B = 'v=0\r\no=carrier 9 9 IN IP4 198.51.100.5\r\ns=-\r\nc=IN IP4 198.51.100.5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (real time: the session clock is the leg's setTimeout) for the one UPDATE the engine sends the caller. */
async function nextUpdate(h: ReturnType<typeof makeEngine>): Promise<SipRequest> {
  for (let i = 0; i < 100; i++) {
    const [update] = h.link.take(A_PORT, isReq('UPDATE'));
    if (update instanceof SipRequest) return update;
    await sleep(20);
  }
  throw new Error('no UPDATE to the caller');
}

describe('leg actor: session refresh (RFC 4028 §10)', () => {
  test('asked to refresh, the leg sends a body-less UPDATE at half the interval, again after a 2xx, and ends the call when one is refused', async () => {
    const h = makeEngine(undefined, undefined, 1);
    deliver(h.engine, inviteFromA({ headers: ['Session-Expires: 2;refresher=uas', 'Supported: timer'] }), A_PORT);
    await settle();
    const [bInvite] = h.link.take(B_PORT, isReq('INVITE'));
    assert.ok(bInvite);
    deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B }), B_PORT);
    await settle();
    const [ok] = h.link.take(A_PORT, (m) => m instanceof SipResponse && m.status === 200);
    assert.ok(ok instanceof SipResponse);
    assert.equal(ok.headers.get('session-expires'), '2;refresher=uas');
    deliver(h.engine, fromA(ok, 'ACK', 1), A_PORT);
    await settle();

    const started = Date.now();
    const first = await nextUpdate(h);
    assert.ok(Date.now() - started >= 800, 'not before half the interval');
    assert.equal(first.headers.get('session-expires'), '2;refresher=uas');
    assert.equal(first.body.length, 0);
    deliver(h.engine, createResponse(first, 200, { headers: [['Session-Expires', '2;refresher=uas']] }), A_PORT);
    await settle();

    const second = await nextUpdate(h);
    assert.ok((second.headers.cseq?.seq ?? 0) > (first.headers.cseq?.seq ?? 0));
    deliver(h.engine, createResponse(second, 481), A_PORT);
    await settle();
    assert.equal(h.link.take(A_PORT, isReq('BYE')).length, 1, 'BYE to the caller');
    assert.equal(h.link.take(B_PORT, isReq('BYE')).length, 1, 'BYE to the far end');
    h.kernel.shutdown();
  });
});
