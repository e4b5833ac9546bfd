// Call transfer with REFER end to end (issue 7): a real nats-server, transport and two workers;
// testkit UAs play the customer's PBX, a carrier, and a SIP peer on another domain that is in
// no ACL (reached through the locator's override table, so no DNS is needed).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SipRequest } from '@switchboard/sip';
import { isFinalNotify, sipfragStatus, startNatsServer, UserAgent, type Call, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { callIdLandingOn, callUp, startTransport, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';

const PBX_HOST = '127.0.0.10';
const CARRIER_HOST = '127.0.0.21';
const PEER_HOST = '127.0.0.40';
const TRANSFEROR_BYE_MS = 1_500;

function trunking(ports: { pbx: number; carrier: number; peer: number }) {
  return {
    carriers: [{ id: 'carrier', addresses: [{ host: CARRIER_HOST, port: ports.carrier }] }],
    trunks: [{
      id: 'acme', domain: 'acme.trunks.example', acl: [`${PBX_HOST}/32`],
      dids: ['+14155550100'],
      origination: { uris: [`sip:${PBX_HOST}:${ports.pbx}`] },
      numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
      routing: [{ prefix: '+1', carriers: ['carrier'] }],
      restrictions: { blocked: [{ prefix: '+1900', name: 'premium-rate' }, { prefix: '+1976', name: 'premium-rate' }] },
      callerId: { allowed: ['+1212'] },
      transfer: { maxPerCall: 3 },
    }],
    sipTransfers: { overrides: [{ domain: 'partner.example', addresses: [{ host: PEER_HOST, port: ports.peer }] }] },
  };
}

const bodyText = (m: { body: Uint8Array }) => Buffer.from(m.body).toString();
const origin = (sdp: string) => /^o=(\S+ \S+) (\d+) (.*)$/m.exec(sdp);

describe('transfer: REFER through transport and two workers', () => {
  let nats: NatsServerHandle;
  let t1: RunningTransport;
  const workers = new Map<string, ManagedProcess>();
  let pbx: UserAgent;
  let carrier: UserAgent;
  let peer: UserAgent;
  let edge: { host: string; port: number };

  before(async () => {
    nats = await startNatsServer();
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100' });
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100' });
    peer = await UserAgent.start({ name: 'peer', host: PEER_HOST, user: 'bob' });
    t1 = await startTransport('t1', nats.url);
    const file = writeCluster(nats.url, trunking({ pbx: pbx.port, carrier: carrier.port, peer: peer.port }), { t1: 100, limitsBucket: 'transfer-e2e', transferorByeMs: TRANSFEROR_BYE_MS });
    for (const id of ['w1', 'w2']) workers.set(id, await startWorker(id, file, nats.url));
    await workersKnown(t1, ['w1', 'w2']);
    edge = { host: '127.0.0.1', port: t1.udpPort };
  });

  after(async () => {
    await Promise.all([...workers.values()].map((w) => w.stop('SIGINT')));
    await t1?.proc.stop();
    for (const ua of [pbx, carrier, peer]) await ua?.stop();
    await nats?.stop();
  });

  /** A termination call PBX → carrier, up. */
  const termination = (number = '+14155551000', callId?: string) => callUp(pbx, carrier, `sip:${number}@acme.trunks.example`, edge, callId);

  /** An origination call carrier → PBX (DID +14155550100), up. */
  async function origination(): Promise<{ call: Call; atPbx: Call }> {
    const { call, far } = await callUp(carrier, pbx, 'sip:+14155550100@127.0.0.1', edge);
    return { call, atPbx: far };
  }

  async function finalNotify(call: Call): Promise<SipRequest> {
    return call.waitForNotify(isFinalNotify);
  }

  test('termination, blind transfer to a number on the same domain: a new PSTN call, NOTIFYs 100 → 200, the remaining party re-pointed', async () => {
    const { call, far } = await termination();
    const sawBefore = origin(bodyText(far.invite));
    carrier.onNextInvite({ ring: 0, answerAfter: 100 });
    const accepted = await call.refer('sip:4155552000@acme.trunks.example');
    assert.equal(accepted.status, 202);
    const target = await carrier.nextCall();
    const invite = target.invite;
    assert.equal(invite.uri.toString(), `sip:+14155552000@${CARRIER_HOST}:${carrier.port};user=phone`, 'normalised and routed like any termination call');
    assert.match(invite.headers.get('referred-by') ?? '', /sip:\+12125550100@acme\.trunks\.example/);
    assert.match(invite.headers.get('diversion') ?? '', /sip:\+14155550100@acme\.trunks\.example/);
    assert.match(invite.headers.get('p-asserted-identity') ?? '', /\+14155551000@/, 'the transferee is presented');
    assert.equal(bodyText(invite), far.localSdp, 'the new party is offered the remaining party\'s session');
    const final = await finalNotify(call);
    assert.equal(sipfragStatus(final), 200);
    const first = call.notifies[0];
    assert.equal(sipfragStatus(first as SipRequest), 100);
    assert.equal(first?.headers.get('event'), 'refer');
    assert.match(final.headers.get('subscription-state') ?? '', /^terminated;reason=noresource/);
    assert.equal(final.headers.get('content-type'), 'message/sipfrag;version=2.0');
    // the remaining party's re-INVITE carries the new party's media under the origin it knew, one version up
    const reinvite = await far.waitForRequest('INVITE');
    const seen = origin(bodyText(reinvite));
    assert.ok(seen !== null && sawBefore !== null);
    assert.equal(seen[1], sawBefore[1]);
    assert.equal(BigInt(seen[2] ?? '0'), BigInt(sawBefore[2] ?? '0') + 1n);
    assert.equal(bodyText(reinvite).replace(/^o=.*$/m, ''), (target.localSdp ?? '').replace(/^o=.*$/m, ''), 'the new party\'s session');
    await call.hangup(); // RFC 5589 §6: the transferor leaves; the bridged call stays
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(far.state, 'confirmed');
    assert.equal(target.state, 'confirmed');
    await far.hangup();
    assert.equal((await target.ended).how, 'bye');
  });

  test('a transfer to a blocked destination fails with a final NOTIFY 403; the original call stays up', async () => {
    const { call, far } = await termination('+14155551001');
    assert.equal((await call.refer('sip:+19005550100@acme.trunks.example')).status, 202);
    const final = await finalNotify(call);
    assert.equal(sipfragStatus(final), 403);
    assert.match(bodyText(final), /Destination Blocked/);
    await assert.rejects(carrier.nextCall(300), 'no carrier was called');
    assert.equal((await call.request('INFO', { body: 'still here', contentType: 'text/plain' })).status, 200, 'the original call still relays');
    await call.hangup();
    assert.equal((await far.ended).how, 'bye');
  });

  test('origination, transfer to another domain: straight to that SIP peer (in no ACL; no routing rule); the engine releases the silent transferor', async () => {
    const { call, atPbx } = await origination();
    peer.onNextInvite({ ring: 0 });
    assert.equal((await atPbx.refer('sip:+14155553000@partner.example')).status, 202);
    const target = await peer.nextCall();
    assert.equal(target.invite.uri.toString(), 'sip:+14155553000@partner.example', 'the Refer-To URI, not a carrier route');
    assert.match(target.invite.headers.get('referred-by') ?? '', /acme\.trunks\.example/);
    assert.equal(target.invite.headers.get('diversion'), undefined);
    assert.equal(sipfragStatus(await finalNotify(atPbx)), 200);
    await call.waitForRequest('INVITE'); // the carrier's caller re-pointed
    // the PBX does not hang up: the engine's BYE comes after transferorByeMs
    const end = await atPbx.ended;
    assert.equal(end.by, 'remote');
    assert.equal(end.how, 'bye');
    await call.hangup();
    assert.equal((await target.ended).how, 'bye');
  });

  test('Refer-Sub: false: 202 with Refer-Sub: false and no NOTIFY', async () => {
    const { call, far } = await termination('+14155551002');
    carrier.onNextInvite({ ring: 0 });
    const accepted = await call.refer('sip:+14155552001@acme.trunks.example', { referSub: false });
    assert.equal(accepted.status, 202);
    assert.equal(accepted.headers.get('refer-sub'), 'false');
    const target = await carrier.nextCall();
    await far.waitForRequest('INVITE');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(call.notifies.length, 0);
    await call.hangup();
    await far.hangup();
    await target.ended;
  });

  test('a REFER from the carrier side is refused with 403 and relayed to nobody', async () => {
    const { call, far } = await termination('+14155551003');
    const refused = await far.refer('sip:+14155552002@acme.trunks.example');
    assert.equal(refused.status, 403);
    assert.equal(refused.reason, 'Transfer Not Allowed');
    assert.equal(call.requests.filter((r) => r.method === 'REFER').length, 0);
    await call.hangup();
    await far.ended;
  });

  test('target busy: final NOTIFY 486, the original call untouched; a second REFER then has its own Event id', async () => {
    const { call, far } = await termination('+14155551004');
    carrier.onNextInvite({ reject: 486 });
    assert.equal((await call.refer('sip:+14155552003@acme.trunks.example')).status, 202);
    await carrier.nextCall();
    assert.equal(sipfragStatus(await finalNotify(call)), 486);
    assert.equal(far.state, 'confirmed');
    carrier.onNextInvite({ ring: 0 });
    const second = await call.refer('sip:+14155552004@acme.trunks.example');
    const target = await carrier.nextCall();
    const notify = await call.waitForNotify((n) => /id=/.test(n.headers.get('event') ?? ''));
    assert.equal(notify.headers.get('event'), `refer;id=${second.headers.cseq?.seq}`);
    await call.waitForNotify((n) => isFinalNotify(n) && n.headers.get('event') === `refer;id=${second.headers.cseq?.seq}`);
    await call.hangup();
    await far.hangup();
    await target.ended;
  });

  test('blind: the transferor hangs up right after 202; the transfer goes on and connects the remaining party', async () => {
    const { call, far } = await termination('+14155551005');
    carrier.onNextInvite({ ring: 0, answerAfter: 300 });
    assert.equal((await call.refer('sip:+14155552005@acme.trunks.example')).status, 202);
    await call.hangup();
    const target = await carrier.nextCall();
    await far.waitForRequest('INVITE');
    assert.equal(target.state, 'confirmed');
    await target.hangup();
    assert.equal((await far.ended).how, 'bye');
  });

  test('the remaining party hangs up while the new leg rings: the new leg is CANCELled, the transferor gets 487 and BYE', async () => {
    const { call, far } = await termination('+14155551006');
    carrier.onNextInvite({ ring: 0, answer: false });
    assert.equal((await call.refer('sip:+14155552006@acme.trunks.example')).status, 202);
    const target = await carrier.nextCall();
    await target.ringing;
    await far.hangup();
    assert.equal((await target.ended).how, 'cancel');
    // the transferor hears how its transfer ended (487), then the engine hangs up on it
    assert.equal(sipfragStatus(await finalNotify(call)), 487);
    assert.equal((await call.ended).how, 'bye');
  });

  test('loops and a transfer in progress are refused: the call\'s own party 403, a second REFER meanwhile 491', async () => {
    const { call, far } = await termination('+14155551007');
    const loop = await call.refer('sip:+14155551007@acme.trunks.example');
    assert.equal(loop.status, 403);
    assert.equal(loop.reason, 'Transfer Loop');
    carrier.onNextInvite({ ring: 0, answer: false });
    assert.equal((await call.refer('sip:+14155552007@acme.trunks.example')).status, 202);
    const target = await carrier.nextCall();
    const again = await call.refer('sip:+14155552008@acme.trunks.example');
    assert.equal(again.status, 491);
    await call.hangup(); // the transferor leaves; the transfer goes on
    await target.reject(486);
    assert.equal((await far.ended).how, 'bye', 'nobody left for the remaining party once the transfer failed');
  });

  test('origination, blind transfer to a number on the same domain: a new PSTN call with Diversion; the carrier\'s caller re-pointed', async () => {
    const { call, atPbx } = await origination();
    carrier.onNextInvite({ ring: 0 });
    assert.equal((await atPbx.refer('sip:+14155554000@acme.trunks.example')).status, 202);
    const target = await carrier.nextCall();
    assert.equal(target.invite.uri.toString(), `sip:+14155554000@${CARRIER_HOST}:${carrier.port};user=phone`);
    assert.match(target.invite.headers.get('diversion') ?? '', /\+14155550100@acme\.trunks\.example/);
    assert.match(target.invite.headers.get('p-asserted-identity') ?? '', /\+13105550100@/, 'the transferee (the PSTN caller) is presented');
    assert.equal(sipfragStatus(await finalNotify(atPbx)), 200);
    await call.waitForRequest('INVITE');
    await atPbx.hangup();
    await call.hangup();
    assert.equal((await target.ended).how, 'bye');
  });

  test('termination, transfer to another domain; then the SIP party transfers again (a chain): each its own transfer', async () => {
    const { call, far } = await termination('+14155551008');
    peer.onNextInvite({ ring: 0 });
    assert.equal((await call.refer('sip:alice@partner.example')).status, 202);
    const first = await peer.nextCall();
    assert.equal(sipfragStatus(await finalNotify(call)), 200);
    await far.waitForRequest('INVITE');
    await call.hangup();
    // the party on the other domain now holds the call for the customer, and may transfer it on
    peer.onNextInvite({ ring: 0 });
    assert.equal((await first.refer('sip:carol@partner.example')).status, 202);
    const second = await peer.nextCall();
    assert.equal(second.invite.uri.toString(), 'sip:carol@partner.example');
    assert.equal(sipfragStatus(await finalNotify(first)), 200);
    await first.hangup();
    await far.hangup();
    assert.equal((await second.ended).how, 'bye');
  });

  test('origination: a transfer to a blocked destination fails with a final NOTIFY 403; the carrier\'s caller stays connected to the PBX', async () => {
    const { call, atPbx } = await origination();
    assert.equal((await atPbx.refer('sip:+19765550100@acme.trunks.example')).status, 202);
    const final = await finalNotify(atPbx);
    assert.equal(sipfragStatus(final), 403);
    assert.match(bodyText(final), /Destination Blocked/);
    assert.equal((await call.request('INFO', { body: 'still here', contentType: 'text/plain' })).status, 200);
    assert.ok(atPbx.requests.some((r) => r.method === 'INFO'), 'the original call still relays');
    await call.hangup();
    assert.equal((await atPbx.ended).how, 'bye');
  });

  for (const [name, workersOf] of [['on one worker', ['w1', 'w1']], ['across two workers', ['w1', 'w2']]] as const) {
    test(`attended transfer (Replaces) ${name}: the remaining party and the replaced call's far party are joined`, async () => {
      const { call: call1, far: far1 } = await termination('+14155551010', callIdLandingOn(workersOf[0], ['w1', 'w2']));
      const { call: call2, far: far2 } = await termination('+14155551011', callIdLandingOn(workersOf[1], ['w1', 'w2']));
      // the PBX names its own dialog of call 2: our tag is the To tag it got, its tag the From tag
      const replaces = encodeURIComponent(`${call2.callId};to-tag=${call2.remoteTag};from-tag=${call2.localTag}`);
      assert.equal((await call1.refer(`<sip:+14155551011@acme.trunks.example?Replaces=${replaces}>`)).status, 202);
      assert.equal(sipfragStatus(await finalNotify(call1)), 200);
      const ended = await call2.ended;
      assert.equal(ended.by, 'remote', 'the replaced dialog is ended by the engine (RFC 3891 §3)');
      // each party is re-pointed at the other's media
      const toFar1 = await far1.waitForRequest('INVITE');
      assert.match(bodyText(toFar1), new RegExp(`m=audio ${/m=audio (\d+)/.exec(far2.localSdp ?? '')?.[1]} `));
      const toFar2 = await far2.waitForRequest('INVITE');
      assert.match(bodyText(toFar2), new RegExp(`m=audio ${/m=audio (\d+)/.exec(far1.localSdp ?? '')?.[1]} `));
      assert.equal(origin(bodyText(toFar2))?.[1], origin(bodyText(far2.invite))?.[1], 'far2 keeps seeing the origin it knew');
      await call1.hangup();
      // in-dialog requests cross between the joined halves, and so does the end
      assert.equal((await far2.request('INFO', { body: 'hello', contentType: 'text/plain' })).status, 200);
      assert.ok(far1.requests.some((r) => r.method === 'INFO'));
      await far1.hangup();
      assert.equal((await far2.ended).how, 'bye');
    });
  }
});
