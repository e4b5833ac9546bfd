// The edge's limits end to end (issue 19 part 2; README "Security", edge limits): a real
// nats-server, transport and two workers, testkit UAs each on its own loopback address. A known
// PBX over a small perSourceRate is banned while its OPTIONS keep-alives still pass, and the ban
// ends; a carrier with a rate of its own (transport.edge.overrides) is not banned for the same
// burst; a digest customer outside every ACL is dropped at the edge until it authenticates, then
// known (sb.edge.authenticated); and its nonce count replayed to the other worker is refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { randomId, requestText, startNatsServer, UdpSipClient, UserAgent, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { callIdLandingOn, natsClient, startTransport, startWorker, transportStats, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';
import { authorization } from '../support/digest.js';

const PBX_HOST = '127.0.0.10';
const DIGEST_PBX_HOST = '127.0.0.11';
const CARRIER_HOST = '127.0.0.21';
const PASSWORD = 'correct horse battery';
const BURST = 3;
/** Long enough that a probe sent after the keep-alive still finds the ban in force on a loaded machine. */
const BAN_SECONDS = 5;

function trunking(carrierPort: number) {
  return {
    carriers: [{ id: 'carrier', addresses: [{ host: CARRIER_HOST, port: carrierPort }], sources: [`${CARRIER_HOST}/32`] }],
    trunks: [{
      id: 'acme', domain: 'acme.trunks.example', acl: [`${PBX_HOST}/32`],
      credentials: [{ username: 'acme-pbx', password: PASSWORD }],
      numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
      routing: [{ prefix: '', carriers: ['carrier'] }], callerId: { allowed: ['+1'] },
    }],
  };
}

/** A PBX's rate is one request a second after a burst of 3; the carrier and the digest PBX have their own. */
const EDGE_YAML = `  edge:
    perSourceRate: 1
    burst: ${BURST}
    banSeconds: ${BAN_SECONDS}
    overrides:
      - { sources: ["${CARRIER_HOST}", "${DIGEST_PBX_HOST}/32"], perSourceRate: 1000, burst: 1000 }
`;

interface EdgeStats {
  open: boolean;
  strangerDropped: number;
  bannedDropped: number;
  keepalivesPassed: number;
  bans: number;
  banned: number;
  authenticated: number;
}

describe('edge limits: rate, ban, keep-alives, overrides and digest customers, through transport and workers', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let t1: RunningTransport;
  const workers: ManagedProcess[] = [];
  let digestPbx: UserAgent;
  let carrier: UserAgent;
  let edge: { host: string; port: number };

  const edgeStats = async (): Promise<EdgeStats> => (await transportStats(nc, 't1')).edge as EdgeStats;
  /** Polls the transport's edge counters until `ok` holds (bounded). */
  async function edgeUntil(ok: (e: EdgeStats) => boolean, what: string): Promise<EdgeStats> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const e = await edgeStats();
      if (ok(e)) return e;
      if (Date.now() > deadline) assert.fail(`${what}: edge ${JSON.stringify(e)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /**
   * Out-of-dialog requests sent once each from `peer` (a bare socket: a UA would retransmit
   * what the edge drops, and its retransmissions would spend the source's bucket later): their Call-IDs.
   */
  async function send(peer: UdpSipClient, method: string, count = 1): Promise<string[]> {
    const callIds = Array.from({ length: count }, () => `${randomId()}@edge-limits`);
    for (const callId of callIds) {
      await peer.send(requestText({ method, uri: 'sip:127.0.0.1', callId, viaHost: peer.address, viaPort: peer.port, rport: true }), edge.port);
    }
    return callIds;
  }
  /** The status of the answer to `callId` (waits for it). */
  const answer = async (peer: UdpSipClient, callId: string): Promise<number> =>
    ((await peer.next((m) => m.headers.callId === callId && 'status' in m)) as { status: number }).status;
  /** Whether anything came back for `callId` (asked once later answers were seen: nothing is still on its way). */
  const answered = (peer: UdpSipClient, callId: string): boolean =>
    peer.received.some((r) => r.message?.headers.callId === callId);
  const peers: UdpSipClient[] = [];
  const peerAt = async (host: string) => {
    const peer = await UdpSipClient.open(host);
    peers.push(peer);
    return peer;
  };

  before(async () => {
    nats = await startNatsServer();
    nc = await natsClient(nats.url);
    digestPbx = await UserAgent.start({ name: 'digest-pbx', host: DIGEST_PBX_HOST, user: '+12125550101' });
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100' });
    t1 = await startTransport('t1', nats.url, { transportYaml: EDGE_YAML });
    const file = writeCluster(nats.url, trunking(carrier.port), { limitsBucket: 'edge-limits-e2e', snapshots: false });
    for (const id of ['w1', 'w2']) workers.push(await startWorker(id, file, nats.url));
    await workersKnown(t1, ['w1', 'w2']);
    edge = { host: '127.0.0.1', port: t1.udpPort };
    await edgeUntil((e) => !e.open, 'the workers told the transport their known sources');
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGINT')));
    await t1?.proc.stop();
    for (const ua of [digestPbx, carrier]) await ua?.stop();
    for (const peer of peers) peer.close();
    await nc?.close();
    await nats?.stop();
  });

  test('a known PBX over its rate is banned (its new requests dropped) while its OPTIONS keep-alives pass; the ban ends', async () => {
    const pbx = await peerAt(PBX_HOST);
    const before = await edgeStats();
    // twice its burst at once: the first BURST reach a worker (405: MESSAGE is not ours), the rest are dropped
    const burst = await send(pbx, 'MESSAGE', 2 * BURST);
    for (const callId of burst.slice(0, BURST)) assert.equal(await answer(pbx, callId), 405);
    const banned = await edgeUntil((e) => e.bannedDropped >= before.bannedDropped + BURST, 'the rest dropped for the ban');
    assert.equal(banned.bans, before.bans + 1, 'one ban started');

    // banned, yet its keep-alive reaches a worker and is answered; a new request right after is still dropped
    const [ping = ''] = await send(pbx, 'OPTIONS');
    assert.equal(await answer(pbx, ping), 200, 'the keep-alive is answered during the ban');
    assert.equal((await edgeStats()).keepalivesPassed, banned.keepalivesPassed + 1);
    await send(pbx, 'MESSAGE');
    const stillBanned = await edgeUntil((e) => e.bannedDropped > banned.bannedDropped, 'the request after the keep-alive dropped: the ban still in force');
    assert.equal(stillBanned.bans, banned.bans, 'a dropped request does not start another ban');

    await edgeUntil((e) => e.banned === 0, 'the ban ended');
    const [again = ''] = await send(pbx, 'MESSAGE');
    assert.equal(await answer(pbx, again), 405, 'after the ban the PBX is listened to again');
    for (const callId of burst.slice(BURST)) assert.equal(answered(pbx, callId), false, 'a dropped request is never answered');
  });

  test('a carrier with a rate of its own (transport.edge.overrides) sends the same burst without a ban', async () => {
    const peer = await peerAt(CARRIER_HOST);
    const before = await edgeStats();
    for (const callId of await send(peer, 'MESSAGE', 2 * BURST)) assert.equal(await answer(peer, callId), 405);
    assert.equal((await edgeStats()).bans, before.bans);
  });

  test('a digest customer outside every ACL is dropped at the edge until it authenticates, then known; its nonce count replayed to the other worker gets 403', async () => {
    // not a request for its trunk's domain (that one is let through to be challenged): a stranger's, dropped
    const peer = await peerAt(DIGEST_PBX_HOST);
    const dropped = (await edgeStats()).strangerDropped;
    const [probe = ''] = await send(peer, 'OPTIONS');
    await edgeUntil((e) => e.strangerDropped > dropped, 'the stranger\'s OPTIONS dropped at the edge');

    const uri = 'sip:+14155551234@acme.trunks.example';
    const challenge = await digestPbx.call({ to: uri, via: edge }).failed;
    assert.equal(challenge.status, 407);
    const credentials = authorization(challenge.headers.getAll('proxy-authenticate')[0] ?? '', { username: 'acme-pbx', password: PASSWORD, method: 'INVITE', uri });
    carrier.onNextInvite({ ring: 0 });
    const call = digestPbx.call({ to: uri, via: edge, callId: callIdLandingOn('w1', ['w1', 'w2']), headers: [['Proxy-Authorization', credentials]] });
    const far = await carrier.nextCall();
    await call.established;
    await call.hangup();
    await far.ended;

    await edgeUntil((e) => e.authenticated >= 1, 'a worker told the transport the authenticated source');
    // a worker answers it (403: it is no trunk's ACL), so it passed the edge
    const [known = ''] = await send(peer, 'OPTIONS');
    assert.equal(await answer(peer, known), 403, 'the same request now reaches a worker');
    assert.equal(answered(peer, probe), false, 'the stranger\'s was never answered');

    // the captured INVITE, sent again to w2: its nonce count was claimed by w1 (sb-nonces)
    const replay = digestPbx.call({ to: uri, via: edge, callId: callIdLandingOn('w2', ['w1', 'w2']), headers: [['Proxy-Authorization', credentials]] });
    const refused = await replay.failed;
    assert.equal(refused.status, 403);
    await assert.rejects(carrier.nextCall(300), 'no call placed for the replay');
  });
});
