import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp } from './sdp.js';
import { startNetSipUac, startNetSipUas, type NetSipAgent } from './netsip.js';
import { UserAgent } from './user-agent/user-agent.js';

// Interoperability with an independent SIP stack: Perl Net::SIP (libnet-sip-perl), over UDP.

async function ours(t: TestContext, name: string): Promise<UserAgent> {
  const ua = await UserAgent.start({ name, transport: 'udp' });
  t.after(() => ua.stop());
  return ua;
}

function cleanup(t: TestContext, agent: NetSipAgent): void {
  t.after(() => agent.stop());
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('UserAgent calls a Net::SIP UAS', () => {
  test('set up with 180 then 200, torn down by our BYE', async (t) => {
    const uas = await startNetSipUas({ ringMs: 200 });
    cleanup(t, uas);
    const pbx = await ours(t, 'pbx');
    const call = pbx.call({ to: uas.uri });

    assert.equal((await call.ringing).status, 180);
    const ok = await call.answered;
    assert.equal(ok.status, 200);
    await call.established;
    const established = await uas.waitForEvent('established');

    // what Net::SIP saw: our INVITE, our SDP byte for byte, our tags
    const invite = await uas.waitForEvent('invite');
    assert.equal(invite.call_id, call.callId);
    assert.equal(established.call_id, call.callId);
    assert.equal(invite.sdp, call.localSdp);
    assert.match(String(invite.from), new RegExp(`tag=${call.localTag}`));
    assert.match(String(invite.contact), new RegExp(`${pbx.host}:${pbx.port}`));
    // what we saw: Net::SIP's answer, its To tag in the dialog
    assert.equal(parseSdp(text(ok.body)).media[0]?.type, 'audio');
    assert.equal(call.remoteSdp, text(ok.body));
    assert.ok(call.remoteTag);
    assert.equal(ok.headers.to?.tag, call.remoteTag);

    const byeOk = await call.hangup();
    assert.equal(byeOk.status, 200, uas.output());
    const bye = await uas.waitForEvent('bye-received');
    assert.equal(bye.call_id, call.callId);
    assert.equal((await uas.waitForEvent('exit')).calls, 1);
    assert.deepEqual(
      pbx.log.filter((e) => !e.retransmission).map((e) => `${e.dir} ${e.message.kind === 'request' ? e.message.method : e.message.status}`),
      ['out INVITE', 'in 100', 'in 180', 'in 200', 'out ACK', 'out BYE', 'in 200'],
    );
  });

  test('torn down by Net::SIP BYE', async (t) => {
    const uas = await startNetSipUas({ hangupAfterMs: 300 });
    cleanup(t, uas);
    const pbx = await ours(t, 'pbx');
    const call = pbx.call({ to: uas.uri });
    await call.established;
    const end = await call.ended;
    assert.equal(end.by, 'remote');
    assert.equal(end.how, 'bye');
    const sent = await uas.waitForEvent('bye-sent');
    assert.equal(sent.code, 200, uas.output());
    assert.equal(sent.call_id, call.callId);
    // Net::SIP's BYE carried the dialog's tags
    const bye = pbx.received('BYE')[0];
    assert.equal(bye?.headers.to?.tag, call.localTag);
    assert.equal(bye?.headers.from?.tag, call.remoteTag);
    assert.equal(bye?.headers.cseq?.method, 'BYE');
  });

  test('rejected by Net::SIP with 486, which gets its ACK', async (t) => {
    const uas = await startNetSipUas({ reject: 486 });
    cleanup(t, uas);
    const pbx = await ours(t, 'pbx');
    const call = pbx.call({ to: uas.uri });
    const res = await call.failed;
    assert.equal(res.status, 486, uas.output());
    assert.equal((await uas.waitForEvent('rejected')).call_id, call.callId);
    const ack = pbx.sent('ACK')[0];
    assert.equal(ack?.headers.topVia?.branch, call.invite.headers.topVia?.branch);
    assert.equal(ack?.headers.to?.tag, res.headers.to?.tag);
    assert.equal((await uas.waitForEvent('exit')).calls, 1);
    assert.equal(pbx.receivedResponses(486).length, 1);
  });
});

describe('a Net::SIP UAC calls our UserAgent', () => {
  test('answered after ringing, torn down by Net::SIP BYE', async (t) => {
    const carrier = await ours(t, 'carrier');
    carrier.onInvite({ ring: 0, answerAfter: 100 });
    const uac = await startNetSipUac({ to: carrier.uri.toString(), hangupAfterMs: 300 });
    cleanup(t, uac);

    const incoming = await carrier.nextCall();
    await incoming.established;
    const final = await uac.waitForEvent('final');
    assert.equal(final.status, 'OK', uac.output());
    assert.equal(final.code, 200);
    assert.equal(final.call_id, incoming.callId);
    // SDP both ways, byte for byte
    assert.equal(final.sdp, incoming.localSdp);
    assert.equal(incoming.remoteSdp, text(incoming.invite.body));
    assert.equal(parseSdp(incoming.remoteSdp ?? '').media[0]?.type, 'audio');
    const codes = uac.events.filter((e) => e.event === 'provisional').map((e) => e.code);
    assert.ok(codes.includes(180), `provisional responses seen by Net::SIP: ${codes.join(', ')}`);

    const end = await incoming.ended;
    assert.equal(end.by, 'remote');
    assert.equal(end.how, 'bye');
    assert.equal((await uac.waitForEvent('bye-sent')).code, 200);
    assert.equal((await uac.waitForEvent('exit')).result, 'local hangup');
    assert.equal(carrier.sentResponses(200, 'BYE').length, 1);
  });

  test('torn down by our BYE', async (t) => {
    const carrier = await ours(t, 'carrier');
    carrier.onInvite({ hangupAfter: 200 });
    const uac = await startNetSipUac({ to: carrier.uri.toString(), hangupAfterMs: 5_000 });
    cleanup(t, uac);

    const incoming = await carrier.nextCall();
    await incoming.established;
    const end = await incoming.ended;
    assert.deepEqual([end.by, end.how], ['local', 'bye']);
    await uac.waitForEvent('bye-received');
    assert.equal((await uac.waitForEvent('exit')).result, 'remote hangup');
    const byeOk = await carrier.waitFor({ dir: 'in', status: 200, cseqMethod: 'BYE' });
    assert.equal(byeOk.message.headers.callId, incoming.callId);
  });

  test('rejected with 486: Net::SIP sees the failure and ACKs it', async (t) => {
    const carrier = await ours(t, 'carrier');
    carrier.onInvite({ reject: 486 });
    const uac = await startNetSipUac({ to: carrier.uri.toString() });
    cleanup(t, uac);

    const final = await uac.waitForEvent('final');
    assert.equal(final.status, 'FAIL');
    assert.equal(final.code, 486);
    const incoming = await carrier.nextCall();
    assert.equal((await incoming.failed).status, 486);
    const ack = await carrier.waitFor({ dir: 'in', method: 'ACK' });
    assert.equal(ack.message.headers.topVia?.branch, incoming.invite.headers.topVia?.branch);
    assert.equal((await uac.waitForEvent('exit')).result, 'failed 486');
  });
});
