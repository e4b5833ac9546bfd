// End to end: real nats-server, a transport node and two worker processes; testkit user
// agents on real UDP sockets play the PBX and the carrier.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { SipRequest } from '@switchboard/sip';
import { decodeMap, Subjects } from '@switchboard/wire';
import {
  randomId, requestText, startNatsServer, startNetSipUac, UdpSipClient, UserAgent, type ManagedProcess, type NatsServerHandle,
} from '@switchboard/testkit';
import {
  callIdLandingOn, oneCarrierTrunking, writeCluster, startTransport, startWorker, workersKnown, writeConfig, type RunningTransport,
} from '../support/cluster.js';
import { ownerOfTag } from '../support/slot-owner.js';

describe('worker engine: calls through transport and two workers', () => {
  let nats: NatsServerHandle;
  /** The worker owning the dialog our tag names: the owner of its slot, in the sb-slots bucket. */
  const ownerOf = (tag: string | undefined): Promise<string> => ownerOfTag(nats.url, tag);
  let t1: RunningTransport;
  const workers = new Map<string, ManagedProcess>();
  let carrier: UserAgent;
  let pbx: UserAgent;
  let trunk: { host: string; port: number };

  before(async () => {
    nats = await startNatsServer();
    carrier = await UserAgent.start({ name: 'carrier' });
    pbx = await UserAgent.start({ name: 'pbx', user: '+12125550100' });
    t1 = await startTransport('t1', nats.url);
    const file = writeCluster(nats.url, oneCarrierTrunking(carrier.port), { minSE: 2 });
    for (const id of ['w1', 'w2']) workers.set(id, await startWorker(id, file, nats.url));
    await workersKnown(t1, ['w1', 'w2']);
    trunk = { host: '127.0.0.1', port: t1.udpPort };
  });

  after(async () => {
    await Promise.all([...workers.values()].map((w) => w.stop('SIGINT')));
    await t1?.proc.stop();
    await pbx?.stop();
    await carrier?.stop();
    await nats?.stop();
  });

  async function placeCall(script: Parameters<UserAgent['onNextInvite']>[0] = { ring: 0 }, headers: [string, string][] = [], callId?: string) {
    carrier.onNextInvite(script);
    const call = pbx.call({ to: `sip:+1415555${String(Math.floor(Math.random() * 9000) + 1000)}@trunk.example`, via: trunk, headers, ...(callId === undefined ? {} : { callId }) });
    const far = await carrier.nextCall();
    return { call, far };
  }

  test('a call is set up and torn down by the PBX; SDP relayed; each side sees only the engine', async () => {
    const { call, far } = await placeCall();
    const ok = await call.answered;
    await call.established;
    const invite = far.log.find((e) => e.dir === 'in' && (e.message as SipRequest).method === 'INVITE')?.message as SipRequest;
    assert.ok(invite);
    // topology hiding: the carrier sees neither the PBX's Call-ID nor its address
    assert.notEqual(invite.headers.callId, call.callId);
    assert.equal(invite.headers.via.length, 1);
    assert.doesNotMatch(invite.headers.get('contact') ?? '', new RegExp(`:${pbx.port}`));
    assert.match(Buffer.from(invite.body).toString(), /o=pbx/);
    assert.match(Buffer.from(ok.body).toString(), /o=carrier/);
    assert.doesNotMatch(ok.headers.get('contact') ?? '', new RegExp(`:${carrier.port}`));
    await call.hangup();
    const end = await far.ended;
    assert.equal(end.by, 'remote');
    assert.equal(end.how, 'bye');
  });

  test('the carrier hangs up: the PBX gets the BYE', async () => {
    const { call, far } = await placeCall();
    await call.established;
    await far.hangup();
    assert.equal((await call.ended).how, 'bye');
  });

  test('in-dialog requests reach the worker that owns the dialog, whichever worker got the INVITE', async () => {
    const owners = new Set<string>();
    for (let i = 0; i < 8; i++) {
      // Call-IDs that the transport's rendezvous hashing spreads over both workers (random ones land on one in 1 run of 128)
      const { call, far } = await placeCall({ ring: 0 }, [], callIdLandingOn(i % 2 === 0 ? 'w1' : 'w2', ['w1', 'w2']));
      const ok = await call.answered;
      await call.established;
      owners.add(await ownerOf(ok.headers.to?.tag));
      const info = await call.request('INFO', { body: 'Signal=5\r\n', contentType: 'application/dtmf-relay' });
      assert.equal(info.status, 200);
      assert.ok(far.log.some((e) => e.dir === 'in' && (e.message as SipRequest).method === 'INFO'));
      await call.hangup();
      await far.ended;
    }
    assert.deepEqual([...owners].sort(), ['w1', 'w2']);
  });

  test('a re-INVITE passes through to the other leg and its answer comes back', async () => {
    const { call, far } = await placeCall();
    await call.established;
    far.onRequest('INVITE', { status: 200, sdp: 'v=0\r\no=carrier 9 10 IN IP4 127.0.0.1\r\ns=held\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\na=recvonly\r\n' } as never);
    const res = await call.reinvite('v=0\r\no=pbx 1 2 IN IP4 127.0.0.1\r\ns=hold\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n');
    assert.equal(res.status, 200);
    const reinvites = far.log.filter((e) => e.dir === 'in' && (e.message as SipRequest).method === 'INVITE');
    assert.equal(reinvites.length, 2);
    assert.match(Buffer.from((reinvites[1]?.message as SipRequest).body).toString(), /a=sendonly/);
    await call.hangup();
  });

  test('CANCEL before answer: 487 to the PBX, CANCEL to the carrier', async () => {
    const { call, far } = await placeCall({ ring: 0, answer: false });
    await call.ringing;
    const res = await call.cancel();
    assert.equal(res.status, 487);
    const end = await far.ended;
    assert.equal(end.how, 'cancel');
  });

  test('a rejection from the carrier is relayed', async () => {
    const { call } = await placeCall({ reject: 486 });
    assert.equal((await call.failed).status, 486);
  });

  test('interop: a call from an independent SIP stack (Perl Net::SIP) is set up and torn down through the engine', async () => {
    carrier.onNextInvite({ ring: 0, answerAfter: 50 });
    const netsip = await startNetSipUac({ to: 'sip:+14155550199@trunk.example', via: trunk, hangupAfterMs: 500, user: '+12125550111' });
    const far = await carrier.nextCall();
    const final = await netsip.waitForEvent('final');
    assert.equal(final.code, 200);
    const bye = await netsip.waitForEvent('bye-sent');
    assert.equal(bye.code, 200);
    assert.equal((await far.ended).how, 'bye');
    assert.match(String(final.sdp ?? ''), /o=carrier/);
    await netsip.stop();
  });

  test('INVITE retransmissions are absorbed: the carrier sees one INVITE', async () => {
    const client = await UdpSipClient.open();
    carrier.onNextInvite({ ring: 0, answer: false });
    const callId = `${randomId()}@retrans`;
    const invite = requestText({ method: 'INVITE', callId, viaPort: client.port, branch: `z9hG4bK${randomId()}` });
    await client.send(invite, t1.udpPort);
    await client.send(invite, t1.udpPort);
    await client.send(invite, t1.udpPort);
    const far = await carrier.nextCall();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(carrier.received('INVITE').filter((r) => r.headers.callId === far.callId).length, 1);
    assert.ok(client.received.filter((r) => r.message?.kind === 'response' && r.message.status === 100).length >= 1);
    await client.send(invite.replace('INVITE sip:', 'CANCEL sip:').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL'), t1.udpPort);
    await client.next((m) => m.kind === 'response' && m.status === 487);
    client.close();
  });

  test('a request for a dialog that has ended gets 481', async () => {
    const { call, far } = await placeCall();
    await call.established;
    await call.hangup();
    await far.ended;
    await new Promise((r) => setTimeout(r, 100));
    const res = await call.request('INFO', { timeoutMs: 3000 }).catch((e: Error) => e);
    assert.ok(!(res instanceof Error), String(res));
    assert.equal(res.status, 481);
  });

  test('session timer: with no refresh the engine ends both legs with BYE', async () => {
    const { call, far } = await placeCall({ ring: 0 }, [['Session-Expires', '3;refresher=uac'], ['Supported', 'timer']]);
    const ok = await call.answered;
    assert.match(ok.headers.get('session-expires') ?? '', /^3;refresher=uac/);
    const [a, b] = await Promise.all([call.ended, far.ended]);
    assert.equal(a.how, 'bye');
    assert.equal(a.by, 'remote');
    assert.equal(b.how, 'bye');
    assert.equal(b.by, 'remote');
  });

  test('a worker answers its stats subject with the calls it holds, and the settled transactions of ended ones', async () => {
    const { call, far } = await placeCall();
    const ok = await call.answered;
    await call.established;
    const owner = await ownerOf(ok.headers.to?.tag);
    const nc = await connect({ servers: nats.url });
    try {
      const stats = decodeMap((await nc.request(Subjects.workerStats(owner), new Uint8Array(0), { timeout: 3000 })).data) as Record<string, number | string>;
      assert.equal(stats.workerId, owner);
      assert.ok((stats.calls as number) >= 1 && (stats.actors as number) >= 3);
      assert.ok((stats.heapUsed as number) > 0);
      await call.hangup();
      await far.ended;
      // the ended call's legs are gone; what its transactions still owe retransmissions (the BYE's 200, for 64*T1) is counted apart
      const settled = async () => (decodeMap((await nc.request(Subjects.workerStats(owner), new Uint8Array(0), { timeout: 3000 })).data) as { settled: number }).settled;
      for (let i = 0; i < 50 && (await settled()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok((await settled()) >= 1, 'settled transactions in the stats');
    } finally {
      await nc.close();
    }
  });

  test('a draining worker keeps its calls and gets no new ones', async () => {
    // a call on each worker
    const held = new Map<string, Awaited<ReturnType<typeof placeCall>>>();
    for (let i = 0; i < 30 && held.size < 2; i++) {
      const c = await placeCall();
      const ok = await c.call.answered;
      await c.call.established;
      const owner = await ownerOf(ok.headers.to?.tag);
      if (held.has(owner)) {
        await c.call.hangup();
        await c.far.ended;
      } else held.set(owner, c);
    }
    assert.equal(held.size, 2);
    const w2 = workers.get('w2') as ManagedProcess;
    w2.child.kill('SIGTERM'); // drains: its calls stay up, new calls go elsewhere
    await workersKnown(t1, ['w2'], 'draining');
    for (let i = 0; i < 6; i++) {
      const c = await placeCall();
      const ok = await c.call.answered;
      assert.equal(await ownerOf(ok.headers.to?.tag), 'w1');
      await c.call.hangup();
    }
    const onW2 = held.get('w2');
    assert.ok(onW2);
    assert.equal((await onW2.call.request('INFO')).status, 200);
    await onW2.call.hangup();
    assert.equal(await w2.exited, 0, 'the drained worker exits once its last call ends');
    workers.delete('w2');
    const onW1 = held.get('w1');
    await onW1?.call.hangup();
  });

  test('a worker killed with SIGKILL does not disturb the calls of another', async () => {
    const file = writeCluster(nats.url, oneCarrierTrunking(carrier.port), { minSE: 2 });
    workers.set('w3', await startWorker('w3', file, nats.url));
    await workersKnown(t1, ['w3']);
    let onW1: Awaited<ReturnType<typeof placeCall>> | undefined;
    let onW3 = false;
    for (let i = 0; i < 30 && (onW1 === undefined || !onW3); i++) {
      const c = await placeCall();
      const ok = await c.call.answered;
      await c.call.established;
      const owner = await ownerOf(ok.headers.to?.tag);
      if (owner === 'w1' && onW1 === undefined) onW1 = c;
      else {
        if (owner === 'w3') onW3 = true;
        await c.call.hangup();
      }
    }
    assert.ok(onW1 && onW3);
    await workers.get('w3')?.stop('SIGKILL');
    workers.delete('w3');
    assert.equal((await onW1.call.request('INFO')).status, 200);
    await onW1.call.hangup();
    assert.equal((await onW1.far.ended).how, 'bye');
  });
});
