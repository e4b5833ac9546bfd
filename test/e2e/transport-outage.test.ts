// End to end: the transport node rides through a NATS outage. A real nats-server is killed
// for longer than 3 heartbeats and started again on the same port; a real transport process
// and two echo workers ride through it; SIP peers on real UDP and TCP sockets of 127.0.0.1.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SipResponse, type SipMessage } from '@switchboard/sip';
import {
  ManagedProcess, randomId, requestText, startNatsServer, TcpSipClient, UdpSipClient, type NatsServerHandle,
} from '@switchboard/testkit';
import { HEARTBEAT_INTERVAL_MS, HEARTBEATS_MISSED_TO_DROP } from '@switchboard/wire';
import { startEchoWorker, startTransport, transportStats, workersKnown, type RunningTransport } from '../support/cluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ofCall = (callId: string) => (m: SipMessage) => m.headers.callId === callId;
const isResponse = (status: number, callId: string) => (m: SipMessage) => m instanceof SipResponse && m.status === status && m.headers.callId === callId;
const receivedAt = (m: SipMessage) => Number(m.headers.get('X-Received-At'));
/** Longer than the transport's patience with a silent worker: today's transport drops both workers. */
const OUTAGE_MS = HEARTBEATS_MISSED_TO_DROP * HEARTBEAT_INTERVAL_MS + 500;

/** The test's own client may still be reconnecting when the transport is back. */
async function statsOnceReachable(nc: NatsConnection): ReturnType<typeof transportStats> {
  for (let i = 0; ; i++) {
    try {
      return await transportStats(nc, 't1');
    } catch (err) {
      if (i === 20) throw err;
      await sleep(100);
    }
  }
}

interface Dialog {
  callId: string;
  fromTag: string;
  toTag: string;
}

describe('transport node across a NATS outage', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let t1: RunningTransport;
  let w1: ManagedProcess;
  let w2: ManagedProcess;
  let udp: UdpSipClient;
  let tcp: TcpSipClient;

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url, reconnectTimeWait: 250, maxReconnectAttempts: -1 });
    t1 = await startTransport('t1', nats.url);
    w1 = await startEchoWorker('w1', nats.url);
    w2 = await startEchoWorker('w2', nats.url);
    await workersKnown(t1, ['w1', 'w2']);
    udp = await UdpSipClient.open();
    tcp = await TcpSipClient.connect(t1.tcpPort);
  });

  after(async () => {
    udp?.close();
    tcp?.close();
    await nc?.close();
    await Promise.all([w1?.stop(), w2?.stop(), t1?.proc.stop()]);
    await nats?.stop();
  });

  test('no 481 and no lost BYE: UDP dropped then retransmitted with its first receive time, TCP held, new calls 503', async () => {
    const dialogOver = async (transport: 'UDP' | 'TCP'): Promise<Dialog> => {
      const callId = `${randomId()}@${transport.toLowerCase()}-dialog`;
      const fromTag = randomId();
      const invite = requestText({ method: 'INVITE', callId, fromTag, transport });
      if (transport === 'UDP') await udp.send(invite, t1.udpPort);
      else await tcp.write(invite);
      const ok = transport === 'UDP' ? await udp.next(isResponse(200, callId)) : await tcp.next(isResponse(200, callId));
      return { callId, fromTag, toTag: ok.headers.to?.tag ?? '' };
    };
    const udpDialog = await dialogOver('UDP');
    const tcpDialog = await dialogOver('TCP');
    const before = await transportStats(nc, 't1');

    await nats.kill();
    await t1.proc.waitForEvent('nats-disconnected');
    await sleep(OUTAGE_MS);

    const udpBye = requestText({ method: 'BYE', callId: udpDialog.callId, fromTag: udpDialog.fromTag, toTag: udpDialog.toTag, cseq: 2 });
    const udpByeSentAt = Date.now();
    await udp.send(udpBye, t1.udpPort);
    const tcpByeSentAt = Date.now();
    await tcp.write(requestText({ method: 'BYE', callId: tcpDialog.callId, fromTag: tcpDialog.fromTag, toTag: tcpDialog.toTag, cseq: 2, transport: 'TCP' }));
    const newCall = `${randomId()}@outage-invite`;
    await udp.send(requestText({ method: 'INVITE', callId: newCall }), t1.udpPort);
    const unavailable = await udp.next(isResponse(503, newCall));
    assert.equal(unavailable.headers.get('Retry-After'), '7');
    await assert.rejects(udp.next(ofCall(udpDialog.callId), 500), /no matching SIP message/, 'the UDP BYE is not answered while NATS is out');
    await assert.rejects(tcp.next(ofCall(tcpDialog.callId), 10), /no matching SIP message/, 'the TCP BYE is held');

    const restartAt = Date.now();
    await nats.restart();
    await t1.proc.waitForEvent('nats-reconnected');
    const rightAfter = await statsOnceReachable(nc);
    assert.deepEqual(rightAfter.workers.map((w: { workerId: string }) => w.workerId).sort(), ['w1', 'w2'], 'the directory kept both workers');

    // the peer's Timer E: its retransmission gets through once NATS and the worker are back
    let udpOk: SipMessage | undefined;
    const retransmittedAt = Date.now();
    for (let i = 0; i < 20 && udpOk === undefined; i++) {
      await udp.send(udpBye, t1.udpPort);
      udpOk = await udp.next(ofCall(udpDialog.callId), 500).catch(() => undefined);
    }
    assert.ok(udpOk instanceof SipResponse);
    assert.equal(udpOk.status, 200);
    assert.ok(
      receivedAt(udpOk) >= udpByeSentAt && receivedAt(udpOk) < restartAt && restartAt < retransmittedAt,
      `the retransmission carries the first BYE's receive time (${receivedAt(udpOk)}, sent at ${udpByeSentAt})`,
    );

    const tcpOk = await tcp.next(ofCall(tcpDialog.callId), 10_000);
    assert.ok(tcpOk instanceof SipResponse);
    assert.equal(tcpOk.status, 200);
    assert.ok(receivedAt(tcpOk) >= tcpByeSentAt && receivedAt(tcpOk) < restartAt, 'the held BYE keeps its own receive time');

    const now = await transportStats(nc, 't1');
    assert.equal(now.refused['481'] ?? 0, before.refused['481'] ?? 0, 'nothing was answered 481');
    assert.equal(now.refused['503'] ?? 0, (before.refused['503'] ?? 0) + 1);
    assert.ok((now.dropped['nats-down'] ?? 0) >= (before.dropped['nats-down'] ?? 0) + 1, 'the UDP BYE dropped during the outage is counted');
    assert.equal(now.nats.connected, true);
    assert.equal(now.nats.disconnects, 1);
    assert.equal(now.nats.held, 0);
    assert.ok(now.nats.released >= 1);
    assert.deepEqual(now.workers.map((w: { workerId: string }) => w.workerId).sort(), ['w1', 'w2']);
    const logged = (event: string) => t1.proc.lines.filter((l) => l.json?.event === event).length;
    assert.deepEqual([logged('nats-disconnected'), logged('nats-reconnected'), logged('worker-lost')], [1, 1, 0]);
  });
});
