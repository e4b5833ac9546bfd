// A real softphone against the cluster: baresip (Debian's, 1.0) is the customer's phone on trunk
// acme (its ACL, its origination URI), driven through its ctrl_tcp commands, with a real
// nats-server, transport and two workers; testkit UAs play the carrier and a SIP peer on
// another domain. What baresip sent and received is read from its SIP trace.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SipRequest } from '@switchboard/sip';
import {
  startBaresip, startNatsServer, UserAgent, sipfragStatus, isFinalNotify,
  type Baresip, type BaresipSip, type Call, type ManagedProcess, type NatsServerHandle,
} from '@switchboard/testkit';
import { acmeTrunking, startTransport, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';

const PHONE_HOST = '127.0.0.30';
const CARRIER_HOST = '127.0.0.21';
const PEER_HOST = '127.0.0.22';
/** The account baresip calls from (a caller ID the trunk allows). */
const PHONE_USER = '+12125550100';
/** The trunk's DID: the account baresip takes the carrier's calls on. */
const DID = '+14155550100';
/** Longer than any transfer here: the BYE that ends baresip's leg must be baresip's own. */
const TRANSFEROR_BYE_MS = 8_000;
/** baresip 1.0's reason for the call a final NOTIFY 2xx ended (call.c). */
const TRANSFERRED = 'Call transfered';

const requestsIn = (phone: Baresip, method: string, callId: string | undefined): SipRequest[] =>
  phone.sip.flatMap((s) => (s.dir === 'in' && s.message.kind === 'request' && s.message.method === method && s.message.headers.callId === callId ? [s.message] : []));

/** Whether `s` is baresip's answer `status` to the request of `method` with CSeq number `seq`. */
const answerOf = (s: BaresipSip, method: string, status: number, seq?: number): boolean =>
  s.dir === 'out' && s.message.kind === 'response' && s.message.status === status
  && s.message.headers.cseq?.method === method && (seq === undefined || s.message.headers.cseq.seq === seq);

describe('baresip, a real softphone, through the trunk', () => {
  let nats: NatsServerHandle;
  let t1: RunningTransport;
  const workers = new Map<string, ManagedProcess>();
  let carrier: UserAgent;
  let peer: UserAgent;
  let phone: Baresip;
  let edge: { host: string; port: number };

  before(async () => {
    nats = await startNatsServer();
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100' });
    peer = await UserAgent.start({ name: 'peer', host: PEER_HOST, user: 'bob' });
    t1 = await startTransport('t1', nats.url);
    edge = { host: '127.0.0.1', port: t1.udpPort };
    phone = await startBaresip({ host: PHONE_HOST, users: [PHONE_USER, DID], outboundProxy: edge, maxMs: 120_000 });
    const trunking = acmeTrunking({
      pbx: phone.address, carrier: { host: CARRIER_HOST, port: carrier.port }, peer: { host: PEER_HOST, port: peer.port },
      trunk: { transfer: { maxPerCall: 3 }, restrictions: { blocked: [{ prefix: '+1900', name: 'premium-rate' }] } },
    });
    const file = writeCluster(nats.url, trunking, { t1: 100, limitsBucket: 'baresip-e2e', transferorByeMs: TRANSFEROR_BYE_MS });
    for (const id of ['w1', 'w2']) workers.set(id, await startWorker(id, file, nats.url));
    await workersKnown(t1, ['w1', 'w2']);
  });

  after(async () => {
    await phone?.stop();
    await Promise.all([...workers.values()].map((w) => w.stop('SIGINT')));
    await t1?.proc.stop();
    for (const ua of [carrier, peer]) await ua?.stop();
    await nats?.stop();
  });

  /** baresip dials `number` on the trunk's domain; the carrier answers at once. */
  async function termination(number: string): Promise<{ callId: string; far: Call }> {
    const since = phone.mark();
    carrier.onNextInvite({ ring: 0 });
    await phone.dial(`sip:${number}@acme.trunks.example`);
    const far = await carrier.nextCall();
    const up = await phone.waitForEvent('CALL_ESTABLISHED', { since, match: (e) => e.direction === 'outgoing' });
    assert.ok(up.id !== undefined, 'ctrl_tcp names the call by its Call-ID');
    return { callId: up.id, far };
  }

  /**
   * The NOTIFYs baresip got in its call `callId` once the last (Subscription-State: terminated)
   * came, each answered 200 by baresip: sipfrag 100 first, `final` last, provisional in between
   * (RFC 3515 §2.4.5).
   */
  async function checkNotifies(callId: string, final: number): Promise<SipRequest[]> {
    const last = await phone.waitForSip((s) => s.dir === 'in' && s.message.kind === 'request' && s.message.method === 'NOTIFY' && s.message.headers.callId === callId && isFinalNotify(s.message));
    const notifies = requestsIn(phone, 'NOTIFY', callId);
    const statuses = notifies.map((n) => sipfragStatus(n));
    assert.ok(notifies.length >= 2, `NOTIFYs: ${statuses.join(', ')}`);
    assert.equal(notifies.at(-1)?.headers.cseq?.seq, last.message.headers.cseq?.seq, 'nothing after the final NOTIFY');
    assert.equal(statuses[0], 100);
    assert.equal(statuses.at(-1), final);
    assert.ok(statuses.slice(1, -1).every((s) => s !== undefined && s >= 100 && s < 200), `provisional in between: ${statuses.join(', ')}`);
    for (const n of notifies) {
      assert.match(n.headers.get('event') ?? '', /^refer\b/);
      assert.match(n.headers.get('content-type') ?? '', /^message\/sipfrag/);
      await phone.waitForSip((s) => answerOf(s, 'NOTIFY', 200, n.headers.cseq?.seq), 5_000);
    }
    for (const n of notifies.slice(0, -1)) assert.match(n.headers.get('subscription-state') ?? '', /^(active|pending)/, 'only the last NOTIFY ends the subscription');
    return notifies;
  }

  test('baresip calls a PSTN number: through the edge to the carrier in E.164, answered; baresip hangs up', async () => {
    const { callId, far } = await termination('4155551000');
    const invite = await phone.waitForSip((s) => s.dir === 'out' && s.message.kind === 'request' && s.message.method === 'INVITE' && s.message.headers.callId === callId);
    assert.equal(invite.peer, `${edge.host}:${edge.port}`, 'baresip sent its INVITE to its outbound proxy, the edge');
    assert.equal(far.invite.uri.toString(), `sip:+14155551000@${CARRIER_HOST}:${carrier.port};user=phone`, 'dialled national → E.164, routed to the carrier');
    assert.match(far.invite.headers.from?.uri.toString() ?? '', /^sip:\+12125550100@/, 'baresip\'s caller ID');
    assert.ok(far.remoteSdp?.includes('m=audio'), 'baresip\'s offer reached the carrier');

    const since = phone.mark();
    await phone.hangup();
    assert.equal((await far.ended).how, 'bye');
    await phone.waitForEvent('CALL_CLOSED', { since, match: (e) => e.id === callId });
    await phone.waitForSip((s) => s.dir === 'in' && s.message.kind === 'response' && s.message.status === 200 && s.message.headers.cseq?.method === 'BYE' && s.message.headers.callId === callId);
  });

  test('the carrier calls the DID: the trunk\'s origination URI is baresip, which answers by itself; the carrier hangs up', async () => {
    const since = phone.mark();
    const call = carrier.call({ to: `sip:${DID}@127.0.0.1`, via: edge });
    await call.established;
    const up = await phone.waitForEvent('CALL_ESTABLISHED', { since, match: (e) => e.direction === 'incoming' });
    assert.equal(up.accountaor, `sip:${DID}@${PHONE_HOST}`, 'taken on the DID\'s account');
    const invite = (await phone.waitForSip((s) => s.dir === 'in' && s.message.kind === 'request' && s.message.method === 'INVITE' && s.message.headers.callId === up.id)).message;
    assert.ok(invite.kind === 'request');
    assert.equal(invite.uri.toString(), `sip:${DID}@${PHONE_HOST}:${phone.port}`, 'the DID at the trunk\'s origination URI');
    assert.match(invite.headers.from?.uri.toString() ?? '', /^sip:\+13105550100@/, 'the carrier\'s caller ID');
    await phone.waitForSip((s) => answerOf(s, 'INVITE', 200) && s.message.headers.callId === up.id);
    assert.ok(call.remoteSdp?.includes('m=audio'), 'baresip\'s answer reached the carrier');

    await call.hangup();
    await phone.waitForEvent('CALL_CLOSED', { since, match: (e) => e.id === up.id });
    await phone.waitForSip((s) => answerOf(s, 'BYE', 200) && s.message.headers.callId === up.id);
  });

  test('baresip transfers its call to a PSTN number: REFER 202, a new INVITE to the carrier, NOTIFYs 100 … 200 answered, baresip leaves, the bridge stays', async () => {
    const { callId, far } = await termination('+14155551001');
    carrier.onNextInvite({ ring: 0, answerAfter: 100 });
    const since = phone.mark();
    await phone.transfer('sip:+14155552000@acme.trunks.example');
    await phone.waitForSip((s) => s.dir === 'in' && s.message.kind === 'response' && s.message.status === 202 && s.message.headers.cseq?.method === 'REFER' && s.message.headers.callId === callId);

    const target = await carrier.nextCall();
    assert.equal(target.invite.uri.toString(), `sip:+14155552000@${CARRIER_HOST}:${carrier.port};user=phone`);
    assert.match(target.invite.headers.get('referred-by') ?? '', /\+12125550100/);
    await far.waitForRequest('INVITE'); // the remaining party re-pointed at the new one

    await checkNotifies(callId, 200);
    await phone.waitForEvent('CALL_CLOSED', { since, match: (e) => e.id === callId && e.param === TRANSFERRED });
    await phone.waitForSip((s) => s.dir === 'in' && s.message.kind === 'response' && s.message.status === 200 && s.message.headers.cseq?.method === 'BYE' && s.message.headers.callId === callId);
    assert.equal(requestsIn(phone, 'BYE', callId).length, 0, 'the BYE that ended baresip\'s leg was its own');

    // RFC 5589 §6: the transferor leaves; the bridged call stays
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(far.state, 'confirmed');
    assert.equal(target.state, 'confirmed');
    await far.hangup();
    assert.equal((await target.ended).how, 'bye');
  });

  test('baresip transfers its call to another domain: straight to that SIP peer, NOTIFYs 100 … 200 answered, baresip leaves', async () => {
    const { callId, far } = await termination('+14155551002');
    peer.onNextInvite({ ring: 0 });
    const since = phone.mark();
    await phone.transfer('sip:bob@partner.example');

    const target = await peer.nextCall();
    assert.equal(target.invite.uri.toString(), 'sip:bob@partner.example', 'the Refer-To URI, not a carrier route');
    assert.match(target.invite.headers.get('referred-by') ?? '', /acme\.trunks\.example/);
    await far.waitForRequest('INVITE');

    await checkNotifies(callId, 200);
    await phone.waitForEvent('CALL_CLOSED', { since, match: (e) => e.id === callId && e.param === TRANSFERRED });
    await phone.waitForSip((s) => s.dir === 'in' && s.message.kind === 'response' && s.message.status === 200 && s.message.headers.cseq?.method === 'BYE' && s.message.headers.callId === callId);
    assert.equal(requestsIn(phone, 'BYE', callId).length, 0, 'the BYE that ended baresip\'s leg was its own');

    await new Promise((r) => setTimeout(r, 300));
    assert.equal(far.state, 'confirmed');
    assert.equal(target.state, 'confirmed');
    await target.hangup();
    assert.equal((await far.ended).how, 'bye');
  });

  // baresip 1.0 ends its call when a transfer fails (src/ua.c drops the call on
  // CALL_EVENT_TRANSFER_FAILED, without a CALL_CLOSED event; baresip 2.0 keeps it, RFC 5589 §7)
  test('baresip transfers to a blocked number: final NOTIFY 403, baresip reports the failure; its BYE (1.0) reaches the carrier', async () => {
    const { callId, far } = await termination('+14155551003');
    const since = phone.mark();
    await phone.transfer('sip:+19005550100@acme.trunks.example');
    await checkNotifies(callId, 403);
    const failed = await phone.waitForEvent('TRANSFER_FAILED', { since, match: (e) => e.id === callId });
    assert.equal(failed.param, '403 Destination Blocked');
    await assert.rejects(carrier.nextCall(300), 'no carrier was called');
    assert.equal((await far.ended).how, 'bye', 'baresip\'s BYE relayed to the carrier');
    await phone.waitForSip((s) => s.dir === 'in' && s.message.kind === 'response' && s.message.status === 200 && s.message.headers.cseq?.method === 'BYE' && s.message.headers.callId === callId);
  });
});
