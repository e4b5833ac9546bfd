// The worker's NATS link against a real nats-server: two links stand for two workers joined by
// an attended transfer; raw publishes stand for a worker of another version; a LocalBus stands
// for the transport node sharing an edge-worker's process.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { connect, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { parseMessage } from '@switchboard/sip';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { decodeJoinReply, decodeOutbound, encodeMap, LocalBus, Subjects, type OutboundSip } from '@switchboard/wire';
import { pino } from 'pino';
import { Counters } from '../metrics/counters.js';
import type { LegMessage } from '../protocol/leg-messages.js';
import type { JoinReply, JoinRequest } from '../protocol/bridge-messages.js';
import type { BridgedMessage, RelayedCommand } from '../protocol/call-messages.js';
import type { Destination } from '../protocol/sip-link.js';
import { NatsLink, type LinkTarget } from './nats-link.js';

let server: NatsServerHandle;
const connections: NatsConnection[] = [];

before(async () => {
  server = await startNatsServer();
});

after(async () => {
  for (const nc of connections) await nc.close().catch(() => {});
  await server.stop();
});

async function connection(): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url });
  connections.push(nc);
  return nc;
}

/** A worker's link whose router records what reached it, and whose log lines are kept. */
async function worker(workerId: string, answer: JoinReply = { ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' }) {
  const joins: JoinRequest[] = [];
  const bridged: { call: string; message: BridgedMessage }[] = [];
  const router: LinkTarget = {
    onInbound: () => undefined,
    onSendFailure: () => undefined,
    onJoin: (request, respond) => {
      joins.push(request);
      respond(answer);
    },
    onBridged: (call, message) => void bridged.push({ call, message }),
  };
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  }));
  const nc = await connection();
  const link = new NatsLink({ workerId, nc, log, counters: new Counters(), transactions: undefined, router: () => router, stats: () => ({ workerId }), outageQueue: { maxMessages: 100, maxBytes: 65_536 } });
  await link.subscribe();
  return { link, nc, joins, bridged, lines };
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await sleep(10);
  assert.ok(check(), `never happened: ${what}`);
}

const JOIN: JoinRequest = { legScope: 'w2.00112233', callId: 'replaced@pbx.example', tags: ['w2.00112233.aabb', 'fa1'], master: { worker: 'w1', call: 'c1' } };

describe('worker-to-worker messages over NATS', () => {
  test('a join and the bridged messages of a joined call reach the other worker as the actors sent them', async () => {
    const relay: JoinReply = { ok: true, relay: { worker: 'w2', call: 'c2' }, sdp: Buffer.from('v=0\r\n'), sdpType: 'application/sdp' };
    const w1 = await worker('w1');
    const w2 = await worker('w2', relay);
    assert.deepEqual(await w1.link.bridge.join('w2', JOIN), relay);
    assert.deepEqual(w2.joins, [JOIN]);
    // the relay's leg is `b1`; the master knows that party as `remote`, and never sees the REFER's parsed request
    w2.link.bridge.send({ worker: 'w1', call: 'c1' }, { to: 'master', event: { type: 'bye', leg: 'b1', reasonHeader: 'Q.850;cause=16' } });
    w1.link.bridge.send({ worker: 'w2', call: 'c2' }, { to: 'relay', attached: true });
    w1.link.bridge.send({ worker: 'w2', call: 'c2' }, { to: 'relay', command: { type: 'send-request', token: { kind: 'reinvite', party: 'remaining' }, method: 'INVITE', headers: [['Supported', 'timer']] } });
    // only send-request, answer-request and hangup cross workers: anything else given to the bridge stays home
    const toLeg = (m: LegMessage) => m as RelayedCommand;
    w1.link.bridge.send({ worker: 'w2', call: 'c2' }, { to: 'relay', command: toLeg({ type: 'answer', status: 200 }) });
    await eventually(() => w1.bridged.length === 1 && w2.bridged.length === 2, 'the bridged messages');
    assert.deepEqual(w1.lines.map((l) => [l.event, l.reason]), [['dropped', 'not-relayed']]);
    assert.deepEqual(w1.bridged, [{ call: 'c1', message: { to: 'master', event: { type: 'bye', leg: 'remote', reasonHeader: 'Q.850;cause=16' } } }]);
    assert.deepEqual(w2.bridged, [
      { call: 'c2', message: { to: 'relay', attached: true } },
      { call: 'c2', message: { to: 'relay', command: { type: 'send-request', token: { kind: 'reinvite', party: 'remaining' }, method: 'INVITE', headers: [['Supported', 'timer']] } } },
    ]);
  });

  test('a bridge message of another version is dropped with a log line naming it, never misread', async () => {
    const w3 = await worker('w3');
    const other = await connection();
    const v1 = { v: 1, call: 'c3', message: { to: 'relay', command: { type: 'hangup' } } };
    other.publish(Subjects.workerBridge('w3'), encodeMap({ ...v1, v: 2 }));
    other.publish(Subjects.workerBridge('w3'), encodeMap({ call: 'c3', message: v1.message }));
    other.publish(Subjects.workerBridge('w3'), encodeMap(v1));
    await eventually(() => w3.bridged.length === 1, 'the v1 message');
    assert.deepEqual(w3.bridged, [{ call: 'c3', message: { to: 'relay', command: { type: 'hangup' } } }], 'only the v1 message reached the router');
    const refused = w3.lines.filter((l) => l.reason === 'unknown-version');
    assert.equal(refused.length, 2, JSON.stringify(w3.lines));
    assert.deepEqual(refused.map((l) => [l.level, l.event, l.subject, l.version]), [[40, 'dropped', 'bridge', 2], [40, 'dropped', 'bridge', 'none']]);
  });

  test('a join request of another version is answered at once with an error, and logged', async () => {
    const w4 = await worker('w4', { ok: true, relay: { worker: 'w4', call: 'c4' } });
    const other = await connection();
    const asked = Date.now();
    const reply = await other.request(Subjects.workerJoin('w4'), encodeMap({ v: 2, ...JOIN }), { timeout: 1_000 });
    assert.ok(Date.now() - asked < 1_000);
    assert.deepEqual(decodeJoinReply(reply.data), { v: 1, ok: false, status: 503, reason: 'Join Version Not Supported' });
    assert.deepEqual(w4.joins, [], 'the router never saw it');
    const [line] = w4.lines.filter((l) => l.reason === 'unknown-version');
    assert.equal(line?.level, 40);
    assert.equal(line?.event, 'refused');
    assert.equal(line?.subject, 'join');
    assert.equal(line?.version, 2);
    // a malformed v1 request is answered too (400), and a good one reaches the router
    const bad = await other.request(Subjects.workerJoin('w4'), encodeMap({ v: 1, ...JOIN, tags: 'none' }), { timeout: 1_000 });
    assert.deepEqual(decodeJoinReply(bad.data), { v: 1, ok: false, status: 400, reason: 'Bad Join Request' });
    const good = await other.request(Subjects.workerJoin('w4'), encodeMap({ v: 1, ...JOIN }), { timeout: 1_000 });
    assert.deepEqual(decodeJoinReply(good.data), { v: 1, ok: true, relay: { worker: 'w4', call: 'c4' } });
    assert.deepEqual(w4.joins, [JOIN]);
  });

  test('a join reply of another version fails the join rather than being read', async () => {
    const w5 = await worker('w5');
    const other = await connection();
    other.subscribe(Subjects.workerJoin('w6'), {
      callback: (_err, msg) => {
        msg.respond(encodeMap({ v: 2, ok: true, relay: { worker: 'w6', call: 'c6' } }));
      },
    });
    await other.flush();
    await assert.rejects(w5.link.bridge.join('w6', JOIN));
    assert.deepEqual(w5.lines.filter((l) => l.reason === 'unknown-version').map((l) => [l.event, l.subject, l.version, l.worker]), [['refused', 'join reply', 2, 'w6']]);
  });
});

describe('a co-located transport node (LocalBus)', () => {
  const OK = 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n';
  const to = (port: number): Destination => ({ protocol: 'udp', address: '127.0.0.1', port, nodeId: 't1', localAddress: '127.0.0.1', localPort: 5060 });

  test('SIP is handed over as its envelope; while held it waits as bytes, goes first and in order on release, then hand-over resumes', async () => {
    const nc = await connection();
    const bus = new LocalBus<MsgHdrs>();
    const got: { port: number; how: 'object' | 'bytes' }[] = [];
    bus.serve(Subjects.transportOutbound('t1'), (m) => {
      const out = m.value !== undefined ? (m.value as OutboundSip) : decodeOutbound(m.data ?? new Uint8Array(0));
      got.push({ port: out.port, how: m.value !== undefined ? 'object' : 'bytes' });
    });
    const overNats: string[] = [];
    nc.subscribe(Subjects.transportOutbound('t1'), { callback: (_e, m) => void overNats.push(m.subject) });
    const link = new NatsLink({
      workerId: 'w1', nc, log: pino({ level: 'silent' }), counters: new Counters(), transactions: undefined, router: () => ({} as LinkTarget),
      stats: () => ({}), outageQueue: { maxMessages: 100, maxBytes: 65_536 }, local: bus,
    });
    const response = parseMessage(Buffer.from(OK));
    link.send(response, to(1));
    assert.deepEqual(got, [{ port: 1, how: 'object' }], 'at once, the object itself');
    link.hold();
    link.send(response, to(2));
    link.send(response, to(3));
    await sleep(20); // the publisher's turn has come and gone: still held
    assert.equal(got.length, 1);
    link.release();
    link.send(response, to(4));
    assert.deepEqual(got.slice(1), [{ port: 2, how: 'bytes' }, { port: 3, how: 'bytes' }, { port: 4, how: 'object' }]);
    // released within the turn that held them (still batched, not yet in the hold): they still go first
    link.hold();
    link.send(response, to(5));
    link.send(response, to(6));
    link.release();
    link.send(response, to(7));
    assert.deepEqual(got.slice(4), [{ port: 5, how: 'bytes' }, { port: 6, how: 'bytes' }, { port: 7, how: 'object' }]);
    await nc.flush();
    await sleep(20);
    assert.deepEqual(overNats, [], 'none of it went to NATS');
  });
});
