// REFER/NOTIFY interop with an independent SIP stack: Perl Net::SIP plays the customer's PBX
// (the transferor) against a real nats-server, transport and two workers; a testkit UA plays
// the carrier that gets both the original call and the transfer target's call.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startNatsServer, startNetSipTransferor, UserAgent, type ManagedProcess, type NatsServerHandle, type NetSipAgent, type NetSipEvent } from '@switchboard/testkit';
import { startTransport, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';

const PBX_HOST = '127.0.0.10';
const CARRIER_HOST = '127.0.0.21';
/** Longer than the whole transfer: the BYE that ends the transferor's leg must be Net::SIP's own. */
const TRANSFEROR_BYE_MS = 8_000;

function trunking(carrierPort: number) {
  return {
    carriers: [{ id: 'carrier', addresses: [{ host: CARRIER_HOST, port: carrierPort }] }],
    trunks: [{
      id: 'acme', domain: 'acme.trunks.example', acl: [`${PBX_HOST}/32`],
      dids: ['+14155550100'],
      origination: { uris: [`sip:${PBX_HOST}:5060`] },
      numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
      routing: [{ prefix: '+1', carriers: ['carrier'] }],
      callerId: { allowed: ['+1212'] },
      transfer: { maxPerCall: 3 },
    }],
  };
}

const bodyText = (m: { body: Uint8Array }) => Buffer.from(m.body).toString();

describe('transfer interop: a Net::SIP PBX transfers a call with REFER', () => {
  let nats: NatsServerHandle;
  let t1: RunningTransport;
  const workers = new Map<string, ManagedProcess>();
  let carrier: UserAgent;
  let pbx: NetSipAgent | undefined;
  let edge: { host: string; port: number };

  before(async () => {
    nats = await startNatsServer();
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100' });
    t1 = await startTransport('t1', nats.url);
    const file = writeCluster(nats.url, trunking(carrier.port), { t1: 100, limitsBucket: 'transfer-interop-e2e', transferorByeMs: TRANSFEROR_BYE_MS });
    for (const id of ['w1', 'w2']) workers.set(id, await startWorker(id, file, nats.url));
    await workersKnown(t1, ['w1', 'w2']);
    edge = { host: '127.0.0.1', port: t1.udpPort };
  });

  after(async () => {
    await pbx?.stop();
    await Promise.all([...workers.values()].map((w) => w.stop('SIGINT')));
    await t1?.proc.stop();
    await carrier?.stop();
    await nats?.stop();
  });

  test('blind transfer: REFER 202, the carrier called for the target, NOTIFYs 100 … 200 (terminated), the remaining party re-pointed; the bridge outlives the transferor\'s BYE', async () => {
    carrier.onNextInvite({ ring: 0 });
    carrier.onNextInvite({ ring: 0, answerAfter: 100 });
    pbx = await startNetSipTransferor({
      to: 'sip:+14155551000@acme.trunks.example',
      referTo: 'sip:+14155552000@acme.trunks.example',
      via: edge, host: PBX_HOST, user: '+12125550100', referAfterMs: 200, byeAfterMs: 200, maxMs: 12_000,
    });
    const agent = pbx;
    const why = () => agent.output();

    const far = await carrier.nextCall();
    const answered = await agent.waitForEvent('final');
    assert.equal(answered.code, 200, why());

    const accepted = await agent.waitForEvent('refer-response');
    assert.equal(accepted.code, 202, why());

    const target = await carrier.nextCall();
    assert.equal(target.invite.uri.toString(), `sip:+14155552000@${CARRIER_HOST}:${carrier.port};user=phone`);
    assert.match(target.invite.headers.get('referred-by') ?? '', /\+12125550100/, 'Net::SIP\'s Referred-By (or the engine\'s) names the transferor');
    assert.equal(bodyText(target.invite), far.localSdp, 'the new party is offered the remaining party\'s session');

    // the remaining party's re-INVITE, once the new party answered
    const reinvite = await far.waitForRequest('INVITE');
    assert.match(bodyText(reinvite), /^v=0/m);

    const bye = await agent.waitForEvent('bye-sent');
    assert.equal(bye.code, 200, why());
    const notifies = agent.events.filter((e: NetSipEvent) => e.event === 'notify');
    const statuses = notifies.map((n) => n.status);
    assert.ok(notifies.length >= 2, `NOTIFYs: ${why()}`);
    assert.equal(statuses[0], 100, why());
    assert.equal(statuses.at(-1), 200, why());
    assert.ok(statuses.slice(1, -1).every((s) => typeof s === 'number' && s >= 100 && s < 200), `provisional in between: ${statuses.join(', ')}`);
    const first = notifies[0] as NetSipEvent;
    const last = notifies.at(-1) as NetSipEvent;
    assert.match(String(first.event_header), /^refer\b/);
    assert.match(String(first.content_type), /^message\/sipfrag/);
    for (const n of notifies.slice(0, -1)) assert.match(String(n.subscription_state), /^(active|pending)/, 'only the last NOTIFY ends the subscription');
    assert.match(String(last.subscription_state), /^terminated/);
    assert.equal(last.sipfrag, 'SIP/2.0 200 OK');
    assert.equal(agent.events.some((e) => e.event === 'bye-received'), false, 'the engine left the transferor\'s BYE to Net::SIP');

    assert.equal((await agent.waitForEvent('exit')).result, 'transferred', why());
    await agent.exited();

    // RFC 5589 §6: the transferor leaves; the bridged call stays
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(far.state, 'confirmed');
    assert.equal(target.state, 'confirmed');
    await far.hangup();
    assert.equal((await target.ended).how, 'bye');
  });
});
