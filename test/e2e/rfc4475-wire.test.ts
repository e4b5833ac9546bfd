// End to end: each RFC 4475 torture message, byte-exact, as one UDP datagram to a running cluster
// (real nats-server, transport node and worker processes); the answer's status against the one the
// RFC names, and the cluster still serving afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SipResponse } from '@switchboard/sip';
import { randomId, requestText, startNatsServer, UdpSipClient, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { oneCarrierTrunking, startTransport, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';
import { corpusIndex, corpusMessage, type CorpusEntry } from '../support/rfc4475.js';

/** Statuses that say "this message is wrong": a message processed normally never gets one. */
const REFUSALS = new Set([400, 416, 420, 501, 505, 513]);

/**
 * Where the engine answers other than the index's status: an alternative the RFC allows, or where
 * the index names the answer of a role the engine does not play. The engine is the UAS of every
 * request (a B2BUA), neither a registrar nor a proxy, and it relays a call's bodies to the far end
 * rather than reading them.
 */
const ANSWERED_OTHERWISE: Record<string, { status: number | 'normal'; why: string }> = {
  unksm2: { status: 405, why: 'a registrar answers 400 for a non-SIP AOR; the engine is no registrar: REGISTER is not allowed' },
  invut: { status: 'normal', why: 'an endpoint answers 415; the engine relays the body to the far end, as a proxy forwards it' },
  sdp01: { status: 'normal', why: 'an endpoint answers 406; the engine relays the offer and its Accept to the far end' },
  mismatch02: { status: 400, why: 'the RFC also allows 400: the CSeq method differs from the request\'s' },
  badbranch: { status: 'normal', why: 'the RFC allows 400 or processing it as an RFC 2543 request; the engine processes it' },
};

/** What the test expects: a status, an answer that is not a refusal, or no answer at all. */
function expectation(e: CorpusEntry): { status: number } | 'normal' | 'silence' {
  const role = ANSWERED_OTHERWISE[e.name];
  if (role !== undefined) return role.status === 'normal' ? 'normal' : { status: role.status };
  if (e.response !== null) return { status: e.response };
  return /^SIP\//.test(corpusMessage(e).toString('latin1', 0, 4)) ? 'silence' : 'normal';
}

/** A datagram's status code when it is a final response (it may not parse: a refusal echoes broken headers). */
function finalStatus(data: Buffer): number | undefined {
  const m = /^SIP\/2\.0 ([2-6]\d\d) /.exec(data.toString('latin1', 0, 16));
  return m === null ? undefined : Number(m[1]);
}

describe('RFC 4475 torture messages over UDP to a running cluster', () => {
  let nats: NatsServerHandle;
  let t1: RunningTransport;
  let worker: ManagedProcess;
  let carrier: UdpSipClient;
  const index = corpusIndex();
  const seen = new Map<string, number | 'none'>();

  before(async () => {
    nats = await startNatsServer();
    carrier = await UdpSipClient.open();
    t1 = await startTransport('t1', nats.url);
    worker = await startWorker('w1', writeCluster(nats.url, oneCarrierTrunking(carrier.port), { limitsBucket: 'sb-limits-rfc4475' }), nats.url);
    await workersKnown(t1, ['w1']);
  });

  after(async () => {
    await worker?.stop('SIGINT');
    await t1?.proc.stop();
    carrier?.close();
    await nats?.stop();
  });

  /**
   * Sends `data` from a fresh socket, then an OPTIONS from the same socket: once its 200 is back,
   * every answer the transport gives at once has arrived. Waits for the message's final answer
   * too when `awaitFinal`. The final statuses other than the probe's, distinct (an INVITE's final
   * answer is retransmitted until an ACK that never comes).
   */
  async function exchange(data: Buffer, awaitFinal: boolean): Promise<number[]> {
    const udp = await UdpSipClient.open();
    try {
      await udp.send(data, t1.udpPort);
      if (awaitFinal) await udp.nextRaw((d) => finalStatus(d) !== undefined, 15_000);
      const probe = `${randomId()}@probe`;
      await udp.send(requestText({ method: 'OPTIONS', callId: probe }), t1.udpPort);
      await udp.next((m) => m instanceof SipResponse && m.status === 200 && m.headers.callId === probe);
      const statuses = udp.received.filter((r) => !r.data.includes(`Call-ID: ${probe}\r\n`)).map((r) => finalStatus(r.data));
      return [...new Set(statuses.filter((s) => s !== undefined))];
    } finally {
      udp.close();
    }
  }

  test('the corpus is the one the conformance test checks', () => assert.equal(index.length, 49));

  for (const e of index) {
    const expected = expectation(e);
    const label = expected === 'silence' ? 'no answer' : expected === 'normal' ? 'processed normally' : String(expected.status);
    test(`${e.section} ${e.name} (${e.verdict}): ${label}`, async () => {
      const statuses = await exchange(corpusMessage(e), expected !== 'silence');
      seen.set(e.name, statuses[0] ?? 'none');
      if (expected === 'silence') assert.deepEqual(statuses, [], 'a response is never answered');
      else if (expected === 'normal') {
        assert.equal(statuses.length, 1, `one final answer, got ${statuses.join(', ')}`);
        assert.ok(!REFUSALS.has(statuses[0] as number), `processed normally, not refused with ${statuses[0]}`);
      } else assert.deepEqual(statuses, [expected.status]);
    });
  }

  test('afterwards the cluster is alive: both processes running, a request answered by the worker', async () => {
    assert.ok(t1.proc.running, 'transport running');
    assert.ok(worker.running, 'worker running');
    const udp = await UdpSipClient.open();
    try {
      const callId = `${randomId()}@after`;
      await udp.send(requestText({ method: 'OPTIONS', callId }), t1.udpPort);
      const res = await udp.next((m) => m instanceof SipResponse && m.headers.callId === callId);
      assert.equal((res as SipResponse).status, 200);
      assert.match(res.headers.get('allow') ?? '', /INVITE/, 'the worker answered, not the transport');
    } finally {
      udp.close();
    }
    const crashed = [...t1.proc.lines, ...worker.lines].filter((l) => l.json?.level !== undefined && Number(l.json.level) >= 50);
    assert.deepEqual(crashed.map((l) => l.text), [], 'no errors logged');
    // the count the README's conformance section reports
    console.log(`RFC 4475 over UDP: ${seen.size} messages, ${[...seen].map(([n, s]) => `${n}=${s}`).join(' ')}`);
  });
});
