// End to end: real nats-server, real transport node processes and echo worker processes,
// SIP clients on real UDP and TCP sockets of 127.0.0.1.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { SipResponse, type SipMessage } from '@switchboard/sip';
import {
  ManagedProcess, randomId, requestText, startNatsServer, TcpSipClient, UdpSipClient, type NatsServerHandle,
} from '@switchboard/testkit';
import {
  natsClient, startEchoWorker, startTransport, transportStats, TRANSPORT_MAIN, workersKnown, writeConfig,
  type RunningTransport,
} from '../support/cluster.js';

const isResponse = (status: number, callId?: string) => (m: SipMessage) =>
  m instanceof SipResponse && m.status === status && (callId === undefined || m.headers.callId === callId);
const worker = (m: SipMessage) => m.headers.get('X-Worker');

describe('transport node with two workers', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let t1: RunningTransport;
  let w1: ManagedProcess;
  let w2: ManagedProcess;
  let udp: UdpSipClient;

  before(async () => {
    nats = await startNatsServer();
    nc = await natsClient(nats.url);
    t1 = await startTransport('t1', nats.url);
    w1 = await startEchoWorker('w1', nats.url);
    w2 = await startEchoWorker('w2', nats.url);
    await workersKnown(t1, ['w1', 'w2']);
    udp = await UdpSipClient.open();
  });

  after(async () => {
    udp?.close();
    await nc?.close();
    await Promise.all([w1?.stop(), w2?.stop(), t1?.proc.stop()]);
    await nats?.stop();
  });

  test('a UDP request reaches a worker and the answer comes back, Via stamped with received and rport', async () => {
    const callId = `${randomId()}@udp`;
    await udp.send(requestText({ method: 'OPTIONS', callId, viaHost: '192.0.2.1', viaPort: 5070, rport: true }), t1.udpPort);
    const res = await udp.next(isResponse(200, callId));
    assert.ok(['w1', 'w2'].includes(worker(res) ?? ''));
    const via = res.headers.get('X-Top-Via') ?? '';
    assert.match(via, /;received=127\.0\.0\.1/);
    assert.match(via, new RegExp(`;rport=${udp.port}(;|$)`));
  });

  test('a TCP request is answered over the same connection', async () => {
    const tcp = await TcpSipClient.connect(t1.tcpPort);
    try {
      const callId = `${randomId()}@tcp`;
      await tcp.write(requestText({ method: 'OPTIONS', callId, transport: 'TCP' }));
      const res = await tcp.next(isResponse(200, callId));
      assert.match(res.headers.get('X-Connection') ?? '', /^c\d+$/);
      // a second request on the same connection names the same connection
      const callId2 = `${randomId()}@tcp`;
      await tcp.write(requestText({ method: 'OPTIONS', callId: callId2, transport: 'TCP' }));
      const res2 = await tcp.next(isResponse(200, callId2));
      assert.equal(res2.headers.get('X-Connection'), res.headers.get('X-Connection'));
    } finally {
      tcp.close();
    }
  });

  test('new dialogs spread over both workers; a retransmitted INVITE and its CANCEL land on the same worker', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 16; i++) {
      const callId = `${randomId()}@spread`;
      const branch = `z9hG4bK${randomId()}`;
      const invite = requestText({ method: 'INVITE', callId, branch });
      await udp.send(invite, t1.udpPort);
      await udp.send(invite, t1.udpPort); // retransmission
      await udp.send(requestText({ method: 'CANCEL', callId, branch }), t1.udpPort);
      const answers = [
        await udp.next(isResponse(200, callId)),
        await udp.next(isResponse(200, callId)),
        await udp.next(isResponse(200, callId)),
      ];
      const owners = new Set(answers.map(worker));
      assert.equal(owners.size, 1, `INVITE, retransmission and CANCEL of ${callId} went to ${[...owners].join(', ')}`);
      seen.add(answers[0] ? (worker(answers[0]) ?? '') : '');
    }
    assert.deepEqual([...seen].sort(), ['w1', 'w2']);
  });

  test('an in-dialog request reaches the worker whose tag it echoes', async () => {
    for (let i = 0; i < 8; i++) {
      const callId = `${randomId()}@dialog`;
      const fromTag = randomId();
      await udp.send(requestText({ method: 'INVITE', callId, fromTag }), t1.udpPort);
      const ok = await udp.next(isResponse(200, callId));
      const toTag = ok.headers.to?.tag ?? '';
      assert.match(toTag, /^[0-9a-f]{16}\.[0-9a-f]{12}$/, 'our tag names a slot, not a worker');
      await udp.send(requestText({ method: 'BYE', callId, fromTag, toTag, cseq: 2 }), t1.udpPort);
      const bye = await udp.next(isResponse(200, callId));
      assert.equal(worker(bye), worker(ok));
    }
  });

  test('malformed requests get 400 naming the fault, straight from the transport', async () => {
    const noCallId = requestText({ method: 'OPTIONS' }).replace(/Call-ID: [^\r]*\r\n/, '');
    await udp.send(noCallId, t1.udpPort);
    const r1 = await udp.next((m) => m instanceof SipResponse && m.status === 400);
    assert.ok(r1 instanceof SipResponse);
    assert.equal(r1.reason, 'Missing Call-ID');
    assert.equal(worker(r1), undefined);

    const callId = `${randomId()}@bad`;
    await udp.send(requestText({ method: 'OPTIONS', callId }).replace('CSeq: 1 OPTIONS', 'CSeq: x OPTIONS'), t1.udpPort);
    // the answer echoes the broken CSeq as written, so it does not parse either: read its bytes
    const r2 = await udp.nextRaw((d) => d.includes(`Call-ID: ${callId}\r\n`));
    assert.match(r2.toString(), /^SIP\/2\.0 400 Bad CSeq\r\n/);

    await udp.send(`OPTIONS  sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\nCall-ID: ${callId}-2\r\nContent-Length: 0\r\n\r\n`, t1.udpPort);
    const r3 = await udp.next(isResponse(400, `${callId}-2`));
    assert.equal((r3 as SipResponse).reason, 'Bad Request-Line');

    // a fault deep in a header the fast path never reads is still the transport's to answer
    await udp.send(requestText({ method: 'INVITE', callId: `${callId}-4`, headers: ['Contact: <sip:a@b;;>'] }), t1.udpPort);
    const r5 = await udp.next(isResponse(400, `${callId}-4`));
    assert.equal((r5 as SipResponse).reason, 'Bad Contact');
    assert.equal(worker(r5), undefined);

    await udp.send(requestText({ method: 'OPTIONS', callId: `${callId}-3` }).replace(' SIP/2.0\r\n', ' SIP/3.0\r\n'), t1.udpPort);
    const r4 = await udp.next(isResponse(505, `${callId}-3`));
    assert.equal((r4 as SipResponse).reason, 'Version Not Supported');
  });

  test('garbage, malformed and foreign responses are dropped and counted; the node keeps serving', async () => {
    const before = await transportStats(nc, 't1');
    await udp.send(Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]), t1.udpPort);
    await udp.send('SIP/2.0 2000 Not A Code\r\nCall-ID: x\r\n\r\n', t1.udpPort);
    await udp.send(
      `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-w1-0123456789abcdef-000000000000\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: forged\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
      t1.udpPort,
    );
    const callId = `${randomId()}@after`;
    await udp.send(requestText({ method: 'OPTIONS', callId }), t1.udpPort);
    await udp.next(isResponse(200, callId));
    const now = await transportStats(nc, 't1');
    assert.equal(now.dropped['response-not-ours'] ?? 0, (before.dropped['response-not-ours'] ?? 0) + 1);
    assert.equal(now.dropped.unreadable ?? 0, (before.dropped.unreadable ?? 0) + 2);
    assert.ok(t1.proc.running);
  });

  test('responses the transport builds itself stamp the top Via with received and rport (RFC 3581), as a worker\'s do', async () => {
    const callId = `${randomId()}@stamp`;
    const stamped = (res: SipMessage) => {
      const top = res.headers.topVia;
      assert.equal(top?.received, '127.0.0.1');
      assert.equal(top?.rport, udp.port);
    };
    await udp.send(requestText({ method: 'OPTIONS', callId, viaHost: '192.0.2.1', rport: true }).replace(/Max-Forwards: 70\r\n/, 'Max-Forwards: 70\r\nMax-Forwards: 70\r\n'), t1.udpPort);
    stamped(await udp.next(isResponse(400, callId)));
    await udp.send(requestText({ method: 'BYE', callId: `${callId}-2`, toTag: 'abc123', viaHost: '192.0.2.1', rport: true }), t1.udpPort);
    stamped(await udp.next(isResponse(481, `${callId}-2`)));
    // received alone when the client did not ask for rport (RFC 3261 §18.2.1)
    await udp.send(requestText({ method: 'BYE', callId: `${callId}-3`, toTag: 'abc123', viaHost: '192.0.2.1' }), t1.udpPort);
    const plain = (await udp.next(isResponse(481, `${callId}-3`))).headers.topVia;
    assert.equal(plain?.received, '127.0.0.1');
    assert.equal(plain?.rport, undefined);
  });

  test('a request echoing a forged or unknown tag gets 481; an ACK for one is dropped', async () => {
    const callId = `${randomId()}@forged`;
    await udp.send(requestText({ method: 'BYE', callId, toTag: 'w1.0123456789abcdef.000000000000' }), t1.udpPort);
    await udp.next(isResponse(481, callId));
    await udp.send(requestText({ method: 'BYE', callId: `${callId}-2`, toTag: 'abc123' }), t1.udpPort);
    await udp.next(isResponse(481, `${callId}-2`));
  });

  test('TCP: keep-alive pings get a pong; split and coalesced messages are framed; an unframeable stream gets 400 and is closed', async () => {
    const tcp = await TcpSipClient.connect(t1.tcpPort);
    await tcp.write('\r\n\r\n');
    const deadline = Date.now() + 3_000;
    while (tcp.pongs === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(tcp.pongs, 1);

    const a = requestText({ method: 'OPTIONS', callId: `${randomId()}@split`, transport: 'TCP' });
    for (let i = 0; i < a.length; i += 37) {
      await tcp.write(a.slice(i, i + 37));
      await new Promise((r) => setTimeout(r, 1));
    }
    const b = requestText({ method: 'OPTIONS', callId: `${randomId()}@c1`, transport: 'TCP', body: 'v=0\r\n\r\n' });
    const c = requestText({ method: 'OPTIONS', callId: `${randomId()}@c2`, transport: 'TCP' });
    await tcp.write(b + c);
    await tcp.next(isResponse(200, /Call-ID: ([^\r]*)/.exec(a)?.[1]));
    await tcp.next(isResponse(200, /Call-ID: ([^\r]*)/.exec(b)?.[1]));
    await tcp.next(isResponse(200, /Call-ID: ([^\r]*)/.exec(c)?.[1]));

    const callId = `${randomId()}@noframe`;
    await tcp.write(requestText({ method: 'OPTIONS', callId, transport: 'TCP' }).replace(/Content-Length: 0\r\n/, ''));
    const r = await tcp.next(isResponse(400, callId));
    assert.equal((r as SipResponse).reason, 'Missing Content-Length');
    await tcp.closed;
  });

  test('workers send through the transport: a new TCP connection to the peer, its answer routed back by branch', async () => {
    const peer = net.createServer((socket) => {
      socket.on('data', (chunk) => {
        const text = chunk.toString('latin1');
        const via = /Via: ([^\r]*)/.exec(text)?.[1] ?? '';
        const head = ['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((h) => `${h}: ${new RegExp(`${h}: ([^\\r]*)`).exec(text)?.[1]}`);
        head[0] = `Via: ${via}`;
        head[2] += ';tag=peer';
        socket.write(`SIP/2.0 200 OK\r\n${head.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`);
      });
    });
    await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
    const port = (peer.address() as net.AddressInfo).port;
    try {
      const callId = `${randomId()}@out`;
      await udp.send(requestText({ method: 'MESSAGE', callId, headers: [`X-Send-To: tcp:127.0.0.1:${port}`] }), t1.udpPort);
      const res = await udp.next(isResponse(200, callId));
      assert.equal(res.headers.get('X-Send-Result'), '200');
    } finally {
      peer.close();
    }
  });

  test('a send the transport cannot make is reported back to the worker', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const callId = `${randomId()}@fail`;
    await udp.send(requestText({ method: 'MESSAGE', callId, headers: [`X-Send-To: tcp:127.0.0.1:${closed}`] }), t1.udpPort);
    const res = await udp.next(isResponse(200, callId));
    assert.match(res.headers.get('X-Send-Failure') ?? '', /ECONNREFUSED/);
  });

  test('a second transport node answers through itself', async () => {
    const t2 = await startTransport('t2', nats.url);
    try {
      await workersKnown(t2, ['w1', 'w2']);
      const client = await UdpSipClient.open();
      const callId = `${randomId()}@t2`;
      await client.send(requestText({ method: 'OPTIONS', callId }), t2.udpPort);
      const res = await client.next(isResponse(200, callId));
      assert.equal(res.headers.get('X-Transport-Node'), 't2');
      client.close();
    } finally {
      assert.equal(await t2.proc.stop('SIGTERM'), 0);
    }
  });

  test('a draining worker gets no new dialogs but keeps its in-dialog requests', async () => {
    // a dialog on w1 first
    let dialog: { callId: string; fromTag: string; toTag: string } | undefined;
    for (let i = 0; i < 40 && dialog === undefined; i++) {
      const callId = `${randomId()}@drain`;
      const fromTag = randomId();
      await udp.send(requestText({ method: 'INVITE', callId, fromTag }), t1.udpPort);
      const ok = await udp.next(isResponse(200, callId));
      if (worker(ok) === 'w1') dialog = { callId, fromTag, toTag: ok.headers.to?.tag ?? '' };
    }
    assert.ok(dialog, 'no dialog landed on w1');
    w1.child.kill('SIGUSR2');
    await workersKnown(t1, ['w1'], 'draining');
    for (let i = 0; i < 12; i++) {
      const callId = `${randomId()}@new`;
      await udp.send(requestText({ method: 'INVITE', callId }), t1.udpPort);
      assert.equal(worker(await udp.next(isResponse(200, callId))), 'w2');
    }
    await udp.send(requestText({ method: 'BYE', ...dialog, cseq: 2 }), t1.udpPort);
    assert.equal(worker(await udp.next(isResponse(200, dialog.callId))), 'w1');
    w1.child.kill('SIGUSR2');
    await t1.proc.waitFor((l) => l.json?.event === 'worker' && l.json.worker === 'w1' && l.json.state === 'active' && t1.proc.lines.filter((x) => x.json?.worker === 'w1').length > 2);
  });

  test('counters are served over NATS', async () => {
    const s = await transportStats(nc, 't1');
    assert.equal(s.nodeId, 't1');
    assert.ok(s.received.udp > 0 && s.received.tcp > 0);
    assert.ok(s.forwarded > 0 && s.sent.udp > 0);
    assert.ok(s.refused['400'] >= 3 && s.refused['481'] >= 2);
    assert.ok(s.keepalives >= 1);
    assert.deepEqual(s.workers.map((w: { workerId: string }) => w.workerId).sort(), ['w1', 'w2']);
  });
});

describe('transport node without workers', () => {
  let nats: NatsServerHandle;
  let t: RunningTransport;
  let udp: UdpSipClient;

  before(async () => {
    nats = await startNatsServer();
    t = await startTransport('t9', nats.url);
    udp = await UdpSipClient.open();
  });
  after(async () => {
    udp?.close();
    await t?.proc.stop();
    await nats?.stop();
  });

  test('a request gets 503 with Retry-After; an ACK is dropped', async () => {
    const callId = `${randomId()}@none`;
    await udp.send(requestText({ method: 'INVITE', callId }), t.udpPort);
    const res = await udp.next(isResponse(503, callId));
    assert.equal(res.headers.retryAfter?.seconds, 7);
    await udp.send(requestText({ method: 'OPTIONS', callId: `${callId}-2`, viaHost: '192.0.2.1', rport: true }), t.udpPort);
    const stamped = (await udp.next(isResponse(503, `${callId}-2`))).headers.topVia;
    assert.equal(stamped?.received, '127.0.0.1');
    assert.equal(stamped?.rport, udp.port);
    await udp.send(requestText({ method: 'ACK', callId }), t.udpPort);
    await t.proc.waitFor((l) => l.json?.event === 'dropped' && l.json.reason === 'ack-no-worker');
  });

  test('a worker that stops heartbeating is dropped after three missed heartbeats', async () => {
    const w = await startEchoWorker('wk', nats.url);
    await workersKnown(t, ['wk']);
    const callId = `${randomId()}@alive`;
    await udp.send(requestText({ method: 'OPTIONS', callId }), t.udpPort);
    assert.equal(worker(await udp.next(isResponse(200, callId))), 'wk');
    await w.stop('SIGKILL');
    await t.proc.waitFor((l) => l.json?.event === 'worker-lost' && l.json.worker === 'wk', 6_000);
    const callId2 = `${randomId()}@gone`;
    await udp.send(requestText({ method: 'OPTIONS', callId: callId2 }), t.udpPort);
    await udp.next(isResponse(503, callId2));
  });
});

describe('transport TCP connection table', () => {
  test('a TCP connection silent for transport.tcp.idleTimeoutMs is closed', async () => {
    const nats = await startNatsServer();
    const t = await startTransport('t7', nats.url, { idleTimeoutMs: 300 });
    try {
      const tcp = await TcpSipClient.connect(t.tcpPort);
      await tcp.write('\r\n\r\n'); // activity, then silence
      await tcp.closed;
      assert.equal(tcp.pongs, 1);
    } finally {
      await t.proc.stop();
      await nats.stop();
    }
  });
});

describe('transport start-up and shutdown', () => {
  test('a bad configuration stops start-up with the file and the field named', async () => {
    const file = writeConfig('transport:\n  id: "bad id"\n  listen:\n    - { protocol: udp, port: 70000 }\nnats:\n  servers: ["nats://127.0.0.1:1"]\nrouting:\n  secret: short\n');
    const proc = ManagedProcess.node('transport-bad', TRANSPORT_MAIN, ['--config', file]);
    assert.equal(await proc.exited, 78);
    const text = proc.lines.map((l) => l.text).join('\n');
    assert.ok(text.includes(file), text);
    assert.match(text, /transport\.(id|listen\[0\]\.port)/);
  });

  test('SIGTERM stops a node cleanly', async () => {
    const nats = await startNatsServer();
    try {
      const t = await startTransport('t8', nats.url);
      assert.equal(await t.proc.stop('SIGTERM'), 0);
      assert.ok(t.proc.lines.some((l) => l.json?.event === 'stopped'));
    } finally {
      await nats.stop();
    }
  });
});
