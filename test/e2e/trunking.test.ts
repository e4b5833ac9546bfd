// Elastic SIP trunking end to end: a real nats-server, transport and two workers; testkit UAs
// play the customer's PBX and two carriers, each on its own loopback address (127.0.0.x), so
// that sources identify them as they would on a network.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SipRequest, SipResponse } from '@switchboard/sip';
import { startNatsServer, UserAgent, type Call, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { decodeMap, Subjects } from '@switchboard/wire';
import { callIdLandingOn, natsClient, startTransport, transportStats, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';
import { authorization } from '../support/digest.js';
import { ownerOfTag } from '../support/slot-owner.js';

const PBX_HOST = '127.0.0.10';
const DIGEST_PBX_HOST = '127.0.0.11';
const SMALL_PBX_HOST = '127.0.0.12';
const BURST_PBX_HOST = '127.0.0.13';
const CARRIER_A_HOST = '127.0.0.21';
const CARRIER_B_HOST = '127.0.0.22';
const STRANGER_HOST = '127.0.0.99';
const PASSWORD = 'correct horse battery';
/** Limit leases: short, so that a killed worker's calls are released within the test. */
const LEASE_MS = 3_000;

function trunking(ports: { pbx: number; a: number; b: number; deadPort: number }) {
  const plan = { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' };
  return {
    carriers: [
      { id: 'carrierA', addresses: [{ host: CARRIER_A_HOST, port: ports.a }] },
      { id: 'carrierB', addresses: [{ host: CARRIER_B_HOST, port: ports.b }], numberFormat: 'e164-digits' },
    ],
    trunks: [
      {
        id: 'acme', domain: 'acme.trunks.example', acl: [`${PBX_HOST}/32`],
        credentials: [{ username: 'acme-pbx', password: PASSWORD }],
        dids: ['+14155550100', '+14155550101'],
        // nothing listens at the first URI (TCP: refused at once): origination fails over to the PBX
        origination: { uris: [`sip:${PBX_HOST}:${ports.deadPort};transport=tcp`, `sip:${PBX_HOST}:${ports.pbx}`] },
        numberPlan: plan,
        routing: [{ prefix: '+1', carriers: ['carrierA', 'carrierB'] }, { prefix: '+44', carriers: ['carrierB'] }],
        restrictions: { blocked: [{ prefix: '+1900', name: 'premium-rate' }] },
        callerId: { allowed: ['+1212'] },
      },
      {
        id: 'small', domain: 'small.trunks.example', acl: [`${SMALL_PBX_HOST}/32`], numberPlan: plan,
        routing: [{ prefix: '', carriers: ['carrierB'] }], restrictions: { maxConcurrent: 2 }, callerId: { allowed: [''] },
      },
      {
        id: 'burst', domain: 'burst.trunks.example', acl: [`${BURST_PBX_HOST}/32`], numberPlan: plan,
        routing: [{ prefix: '', carriers: ['carrierB'] }], restrictions: { maxCps: 2 }, callerId: { allowed: [''] },
      },
    ],
  };
}

/**
 * The headers a UA received, as text: where topology hiding must keep the other side out.
 * (Bodies are left out: SDP is relayed unchanged, media addresses included.)
 */
function received(call: Call): string {
  return call.log.filter((e) => e.dir === 'in').map((e) => Buffer.from(e.raw).toString().split('\r\n\r\n', 1)[0]).join('\n');
}

describe('trunking: termination and origination through transport and two workers', () => {
  let nats: NatsServerHandle;
  /** The worker owning the dialog our tag names: the owner of its slot, in the sb-slots bucket. */
  const ownerOf = (tag: string | undefined): Promise<string> => ownerOfTag(nats.url, tag);
  let nc: NatsConnection;
  let t1: RunningTransport;
  const workers = new Map<string, ManagedProcess>();
  let pbx: UserAgent;
  let digestPbx: UserAgent;
  let smallPbx: UserAgent;
  let burstPbx: UserAgent;
  let stranger: UserAgent;
  let carrierA: UserAgent;
  let carrierB: UserAgent;
  let edge: { host: string; port: number };
  let configFile: string;

  before(async () => {
    nats = await startNatsServer();
    nc = await natsClient(nats.url);
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100' });
    digestPbx = await UserAgent.start({ name: 'digest-pbx', host: DIGEST_PBX_HOST, user: '+12125550101' });
    smallPbx = await UserAgent.start({ name: 'small-pbx', host: SMALL_PBX_HOST, user: '+12125550102' });
    burstPbx = await UserAgent.start({ name: 'burst-pbx', host: BURST_PBX_HOST, user: '+12125550103' });
    stranger = await UserAgent.start({ name: 'stranger', host: STRANGER_HOST, user: '+12125550199' });
    carrierA = await UserAgent.start({ name: 'carrierA', host: CARRIER_A_HOST, user: '+13105550100' });
    carrierB = await UserAgent.start({ name: 'carrierB', host: CARRIER_B_HOST, user: '+13105550101' });
    t1 = await startTransport('t1', nats.url);
    configFile = writeCluster(nats.url, trunking({ pbx: pbx.port, a: carrierA.port, b: carrierB.port, deadPort: 9 }), { t1: 100, limitsBucket: 'trunking-e2e', leaseMs: LEASE_MS, snapshots: false });
    // no call snapshots: a killed worker's calls are not taken over, so its lease is what frees its counts (takeover: worker-takeover.test.ts)
    for (const id of ['w1', 'w2']) workers.set(id, await startWorker(id, configFile, nats.url));
    await workersKnown(t1, ['w1', 'w2']);
    edge = { host: '127.0.0.1', port: t1.udpPort };
  });

  after(async () => {
    await Promise.all([...workers.values()].map((w) => w.stop('SIGINT')));
    await t1?.proc.stop();
    for (const ua of [pbx, digestPbx, smallPbx, burstPbx, stranger, carrierA, carrierB]) await ua?.stop();
    await nc?.close();
    await nats?.stop();
  });

  async function workerCounters(): Promise<Record<string, number>> {
    const total: Record<string, number> = {};
    for (const id of workers.keys()) {
      const reply = await nc.request(Subjects.workerStats(id), new Uint8Array(0), { timeout: 2_000 });
      const counters = (decodeMap(reply.data) as { counters: Record<string, number> }).counters;
      for (const [k, v] of Object.entries(counters)) total[k] = (total[k] ?? 0) + v;
    }
    return total;
  }

  test('termination: set up and torn down by the PBX; the carrier sees E.164 and our addresses only', async () => {
    carrierA.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:4155551234@acme.trunks.example', via: edge });
    const far = await carrierA.nextCall();
    const ok = await call.answered;
    await call.established;
    const invite = far.invite as SipRequest;
    assert.equal(invite.uri.toString(), `sip:+14155551234@${CARRIER_A_HOST}:${carrierA.port};user=phone`, 'dialled national → E.164');
    assert.match(invite.headers.get('p-asserted-identity') ?? '', /sip:\+12125550100@127\.0\.0\.1/);
    assert.notEqual(invite.headers.callId, call.callId);
    // topology hiding: nothing of the PBX reaches the carrier, nothing of the carrier the PBX
    assert.doesNotMatch(received(far), new RegExp(`${PBX_HOST.replaceAll('.', '\\.')}|acme\\.trunks|${call.callId}`));
    assert.doesNotMatch(received(call), new RegExp(`${CARRIER_A_HOST.replaceAll('.', '\\.')}|${far.callId}`));
    assert.match(Buffer.from(invite.body).toString(), /o=pbx/, 'SDP relayed unchanged');
    assert.match(Buffer.from(ok.body).toString(), /o=carrierA/);
    assert.equal(invite.headers.maxForwards, 69);
    await call.hangup();
    assert.equal((await far.ended).how, 'bye');
  });

  test('termination: torn down by the carrier', async () => {
    carrierA.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:+14155551235@acme.trunks.example', via: edge });
    const far = await carrierA.nextCall();
    await call.established;
    await far.hangup();
    assert.equal((await call.ended).how, 'bye');
  });

  test('failover: carrier A answers 503, carrier B takes the call (its number format)', async () => {
    carrierA.onNextInvite({ reject: 503 });
    carrierB.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:+14155551236@acme.trunks.example', via: edge });
    const first = await carrierA.nextCall();
    assert.equal((await first.ended).how, 'rejected');
    const second = await carrierB.nextCall();
    assert.equal((second.invite as SipRequest).uri.toString(), `sip:14155551236@${CARRIER_B_HOST}:${carrierB.port};user=phone`);
    await call.established;
    assert.doesNotMatch(received(call), /^SIP\/2\.0 503 /m, 'the PBX never sees the failed attempt');
    await call.hangup();
    await second.ended;
  });

  test('no failover on a user answer: 486 from carrier A is relayed, carrier B is not tried', async () => {
    carrierA.onNextInvite({ reject: 486 });
    const call = pbx.call({ to: 'sip:+14155551237@acme.trunks.example', via: edge });
    await carrierA.nextCall();
    assert.equal((await call.failed).status, 486);
    await assert.rejects(carrierB.nextCall(300));
  });

  test('every carrier failing gives 503 All Routes Failed', async () => {
    carrierA.onNextInvite({ reject: 502 });
    carrierB.onNextInvite({ reject: 503 });
    const call = pbx.call({ to: 'sip:+14155551238@acme.trunks.example', via: edge });
    await carrierA.nextCall();
    await carrierB.nextCall();
    const failed = await call.failed;
    // the 502 is the best answer seen (§16.7: a 503 is not relayed)
    assert.equal(failed.status, 502);
  });

  test('blocked destination: 403 Destination Blocked, no carrier is tried', async () => {
    const call = pbx.call({ to: 'sip:+19005550100@acme.trunks.example', via: edge });
    const failed = await call.failed;
    assert.equal(failed.status, 403);
    assert.equal(failed.reason, 'Destination Blocked');
    await assert.rejects(carrierA.nextCall(200));
  });

  test('caller ID outside the trunk policy: 403 Caller ID Not Allowed', async () => {
    const call = pbx.call({ to: 'sip:+14155551239@acme.trunks.example', via: edge, from: '<sip:+13125550100@pbx.example>' });
    const failed = await call.failed;
    assert.equal(failed.status, 403);
    assert.equal(failed.reason, 'Caller ID Not Allowed');
  });

  test('origination: a carrier calls a DID; the PBX answers after the first URI failed; torn down by the carrier', async () => {
    pbx.onNextInvite({ ring: 0 });
    const call = carrierA.call({ to: `sip:+14155550100@127.0.0.1`, via: edge });
    const atPbx = await pbx.nextCall(5_000);
    await call.established;
    const invite = atPbx.invite as SipRequest;
    assert.equal(invite.uri.toString(), `sip:+14155550100@${PBX_HOST}:${pbx.port}`);
    assert.match(invite.headers.from?.uri.toString() ?? '', /^sip:\+13105550100@/);
    assert.doesNotMatch(received(atPbx), new RegExp(`${CARRIER_A_HOST.replaceAll('.', '\\.')}|${call.callId}`));
    assert.doesNotMatch(received(call), new RegExp(`${PBX_HOST.replaceAll('.', '\\.')}|${atPbx.callId}`));
    await call.hangup();
    assert.equal((await atPbx.ended).how, 'bye');
  });

  test('origination: torn down by the PBX', async () => {
    pbx.onNextInvite({ ring: 0 });
    const call = carrierB.call({ to: `sip:14155550101@127.0.0.1`, via: edge });
    const atPbx = await pbx.nextCall(5_000);
    await call.established;
    await atPbx.hangup();
    assert.equal((await call.ended).how, 'bye');
  });

  test('origination to an unknown DID: 404', async () => {
    const call = carrierA.call({ to: `sip:+14155559999@127.0.0.1`, via: edge });
    assert.equal((await call.failed).status, 404);
  });

  test('an unknown source is dropped at the edge (issue 19): no answer, no worker asked, counted by the transport', async () => {
    const edgeCounts = async () => (await transportStats(nc, 't1')).edge as { open: boolean; strangerDropped: number };
    assert.equal((await edgeCounts()).open, false, 'the workers told the transport their known sources');
    const before = (await workerCounters())['refused.unknown-source'] ?? 0;
    const dropped = (await edgeCounts()).strangerDropped;
    const call = stranger.call({ to: `sip:+14155551240@127.0.0.1`, via: edge });
    const deadline = Date.now() + 5_000;
    while ((await edgeCounts()).strangerDropped === dropped && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok((await edgeCounts()).strangerDropped > dropped);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(received(call), '', 'nothing answered');
    assert.equal((await workerCounters())['refused.unknown-source'] ?? 0, before);
  });

  test('digest: a 407 challenge (SHA-256 and MD5), then the call with credentials goes through; a wrong password gets 403', async () => {
    const uri = 'sip:+14155551241@acme.trunks.example';
    const first = digestPbx.call({ to: uri, via: edge });
    const challenge = await first.failed;
    assert.equal(challenge.status, 407);
    const offers = challenge.headers.getAll('proxy-authenticate');
    assert.equal(offers.length, 2);
    assert.match(offers[0] ?? '', /algorithm=SHA-256/);
    assert.match(offers[1] ?? '', /algorithm=MD5/);
    assert.match(offers[0] ?? '', /realm="acme\.trunks\.example"/);

    const wrong = digestPbx.call({ to: uri, via: edge, headers: [['Proxy-Authorization', authorization(offers[0] ?? '', { username: 'acme-pbx', password: 'not the password', method: 'INVITE', uri })]] });
    assert.equal((await wrong.failed).status, 403);

    // both offers share one nonce: each use counts up its nonce-count (RFC 7616 §3.4)
    for (const [i, offer] of offers.entries()) {
      carrierA.onNextInvite({ ring: 0 });
      const call = digestPbx.call({ to: uri, via: edge, headers: [['Proxy-Authorization', authorization(offer, { username: 'acme-pbx', password: PASSWORD, method: 'INVITE', uri, nc: i + 1 })]] });
      const far = await carrierA.nextCall();
      await call.established;
      await call.hangup();
      await far.ended;
    }
  });

  test('concurrency limit holds across both workers, and a slot frees when a call ends', async () => {
    // Call-IDs chosen so the transport's rendezvous hashing puts the two held calls on different workers
    const callIdFor = (worker: string) => callIdLandingOn(worker, ['w1', 'w2']);
    carrierB.onInvite({ ring: 0 });
    const held: Call[] = [];
    const owners = new Set<string>();
    for (const worker of ['w1', 'w2']) {
      const call = smallPbx.call({ to: 'sip:+14155551242@small.trunks.example', via: edge, callId: callIdFor(worker) });
      const ok = await call.answered;
      await call.established;
      owners.add(await ownerOf(ok.headers.to?.tag));
      held.push(call);
    }
    assert.deepEqual([...owners].sort(), ['w1', 'w2']);
    for (const worker of ['w1', 'w2']) {
      const over = smallPbx.call({ to: 'sip:+14155551243@small.trunks.example', via: edge, callId: callIdFor(worker) });
      const failed = await over.failed;
      assert.equal(failed.status, 503, `refused on ${worker}`);
      assert.equal(failed.reason, 'Concurrent Call Limit');
    }
    await held[0]?.hangup();
    await new Promise((r) => setTimeout(r, 200)); // the release reaches the bucket
    const again = smallPbx.call({ to: 'sip:+14155551244@small.trunks.example', via: edge, callId: callIdFor('w2') });
    await again.established;
    await again.hangup();
    await held[1]?.hangup();
  });

  test('calls-per-second limit: a burst beyond it gets 503 Call Rate Exceeded with Retry-After', async () => {
    carrierB.onInvite({ ring: 0 });
    const started = Date.now();
    const calls = Array.from({ length: 8 }, (_, i) => burstPbx.call({ to: `sip:+1415555130${i}@burst.trunks.example`, via: edge }));
    const outcomes = await Promise.all(calls.map((c) => c.outcome));
    const elapsedS = (Date.now() - started) / 1000;
    const answered = outcomes.filter((r: SipResponse) => r.status === 200);
    const refused = outcomes.filter((r: SipResponse) => r.status === 503);
    // a bucket of 2 refilled at 2/s: never more than 2 + 2·elapsed admitted
    assert.ok(answered.length >= 1 && answered.length <= 2 + Math.ceil(2 * elapsedS), `answered ${answered.length} in ${elapsedS}s`);
    assert.equal(answered.length + refused.length, 8);
    for (const r of refused) {
      assert.equal(r.reason, 'Call Rate Exceeded');
      assert.equal(r.headers.get('retry-after'), '1');
    }
    await Promise.all(calls.filter((_, i) => outcomes[i]?.status === 200).map((c) => c.hangup()));
  });

  test('a worker killed with SIGKILL: its calls stop counting against the trunk when its lease runs out', async () => {
    const w3 = await startWorker('w3', configFile, nats.url);
    workers.set('w3', w3);
    await workersKnown(t1, ['w3']);
    // w1's calls must land on w1 whether or not the transport still counts w3
    const callIdFor = (worker: string) => (worker === 'w3' ? callIdLandingOn('w3', ['w1', 'w2', 'w3']) : callIdLandingOn(worker, ['w1', 'w2', 'w3'], ['w1', 'w2']));
    carrierB.onInvite({ ring: 0 });
    const onW3 = smallPbx.call({ to: 'sip:+14155551250@small.trunks.example', via: edge, callId: callIdFor('w3') });
    assert.equal(await ownerOf((await onW3.answered).headers.to?.tag), 'w3');
    const onW1 = smallPbx.call({ to: 'sip:+14155551251@small.trunks.example', via: edge, callId: callIdFor('w1') });
    await onW1.established;
    await w3.stop('SIGKILL');
    workers.delete('w3');
    const killedAt = Date.now();
    // w3's slot still counts while its lease runs
    const early = smallPbx.call({ to: 'sip:+14155551252@small.trunks.example', via: edge, callId: callIdFor('w1') });
    const refused = await early.failed;
    assert.equal(refused.status, 503);
    assert.ok(Date.now() - killedAt < LEASE_MS, 'refused before the lease could run out');
    await new Promise((r) => setTimeout(r, LEASE_MS + 500));
    const later = smallPbx.call({ to: 'sip:+14155551253@small.trunks.example', via: edge, callId: callIdFor('w1') });
    await later.established;
    await later.hangup();
    await onW1.hangup();
  });
});
