// Ringing calls of a worker that dies or hands over end cleanly (issue 16, design R2): a real
// nats-server, one transport and two workers; testkit UAs play a PBX on UDP, a PBX on TCP and a
// carrier that rings and never answers. Each call rings past worker.snapshots.earlyAfterMs (its
// early record written), then its worker is killed with SIGKILL, or drained by handover (SIGTERM):
// each caller gets a final response (500, with its Reason), the carrier a CANCEL (its 487 ACKed),
// each call exactly one record, and the limit counts come back to zero.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/nats-core';
import { CdrClient, type CallDetailRecord } from '@switchboard/cdr';
import type { Call, UserAgent } from '@switchboard/testkit';
import { callIdLandingOn, type RunningTransport } from '../support/cluster.js';
import { eventually, sleep } from '../support/eventually.js';
import { TakeoverCluster } from '../support/takeover-cluster.js';

const PBX_HOST = '127.0.0.84';
const PBX_TCP_HOST = '127.0.0.85';
const CARRIER_HOST = '127.0.0.86';
const WORKERS = ['w1', 'w2'];
const LIMITS_BUCKET = 'takeover-ringing';
const LEASE_MS = 3_000;

interface Ringing {
  call: Call;
  far: Call;
}

describe('worker takeover: ringing calls end cleanly', () => {
  let cluster: TakeoverCluster;
  let t1: RunningTransport;
  let pbx: UserAgent;
  let pbxTcp: UserAgent;
  let carrier: UserAgent;
  let check: NatsConnection;
  let serial = 0;

  before(async () => {
    // worker.snapshots.earlyAfterMs: its default (1000 ms)
    cluster = await TakeoverCluster.start({
      hosts: { pbx: PBX_HOST, pbxTcp: PBX_TCP_HOST, carrier: CARRIER_HOST }, workers: WORKERS,
      config: { limitsBucket: LIMITS_BUCKET, leaseMs: LEASE_MS, drainMode: 'handover' },
    });
    ({ t1, pbx, pbxTcp, carrier, check } = cluster);
  });

  after(() => cluster?.stop());

  /** `n` calls placed on worker `owner`, alternately from the UDP and the TCP PBX, ringing at the carrier (it never answers). */
  async function ringingOn(owner: string, n: number): Promise<Ringing[]> {
    const out: Ringing[] = [];
    for (let i = 0; i < n; i++) {
      const ua = i % 2 === 0 ? pbx : pbxTcp;
      const port = i % 2 === 0 ? t1.udpPort : t1.tcpPort;
      carrier.onNextInvite({ ring: 0, answer: false });
      const call = ua.call({ to: `sip:+1415556${String(serial++).padStart(4, '0')}@acme.trunks.example`, via: { host: '127.0.0.1', port }, callId: callIdLandingOn(owner, WORKERS) });
      const far = await carrier.nextCall();
      await call.wait('ringing');
      out.push({ call, far });
    }
    return out;
  }

  /** Each caller got 500 with the takeover's Reason; the carrier got a CANCEL and the ACK of its 487. */
  async function assertEndedCleanly(calls: readonly Ringing[]): Promise<void> {
    for (const { call, far } of calls) {
      const final = await call.failed;
      assert.equal(final.status, 500, `the caller's final response in ${call.callId}`);
      assert.match(final.headers.get('reason') ?? '', /^Q\.850;cause=41/, 'with a Reason (RFC 6432)');
      await far.ended;
      assert.equal(carrier.received('CANCEL', far.callId).length >= 1, true, `the carrier got a CANCEL in ${far.callId}`);
      await eventually(() => carrier.received('ACK', far.callId).length >= 1, `the carrier's 487 ACKed in ${far.callId}`);
    }
  }

  const assertNothingLeft = (live: string) => cluster.assertNothingLeft([live]);

  /** Exactly one record per call, taken over, failed, never answered. */
  async function assertOneRecordEach(calls: readonly Ringing[], since: number, from: string): Promise<void> {
    const ids = new Set(calls.map((c) => c.call.callId));
    const cdr = new CdrClient(check);
    const mine = async () => (await cdr.query({ since, limit: 1_000 }).catch(() => ({ records: [] as CallDetailRecord[] }))).records.filter((r) => r.legs.some((l) => ids.has(l.sipCallId)));
    await eventually(async () => (await mine()).length >= ids.size, `${ids.size} records`);
    await sleep(1_000); // a duplicate would come late: give it the time
    const records = await mine();
    assert.equal(records.length, ids.size, 'one record per call');
    for (const r of records) {
      assert.equal(r.disposition, 'failed');
      assert.equal(r.status, 500);
      assert.equal(r.answeredAt, undefined);
      assert.equal(r.takenOver?.from, from, 'the record says the call was taken over');
    }
  }

  test('kill -9 with calls ringing from a UDP and a TCP caller: each caller gets 500, the carrier a CANCEL, one record each, counts back to 0', async () => {
    const since = Date.now();
    const early = await cluster.counter('w1', 'snapshots.written');
    const ringing = await ringingOn('w1', 4);
    // the early records: written once each call has rung earlyAfterMs (an event: the worker's counter)
    await eventually(async () => (await cluster.counter('w1', 'snapshots.written')) >= early + 4, '4 early records written');
    const killedAt = Date.now();
    await cluster.workers.get('w1')?.stop('SIGKILL');
    await assertEndedCleanly(ringing);
    process.stdout.write(`# ringing calls ended by the adopter ${Date.now() - killedAt} ms after the kill\n`);
    await assertOneRecordEach(ringing, since, 'w1');
    await assertNothingLeft('w2');
    await cluster.restart('w1');
  });

  test('drain by handover with calls ringing, early records off: the worker exits, each caller gets 500, the carrier a CANCEL, one record each', async () => {
    // earlyAfterMs 'off': no early record before the drain; the handover writes them all the same
    await cluster.restart('w2', cluster.configWith({ earlyAfterMs: 'off' }));
    const since = Date.now();
    const ringing = await ringingOn('w2', 4);
    const w2 = cluster.workers.get('w2')!;
    w2.child.kill('SIGTERM');
    assert.equal(await w2.exited, 0, 'a clean exit');
    await assertEndedCleanly(ringing);
    await assertOneRecordEach(ringing, since, 'w2');
    await assertNothingLeft('w1');
    await cluster.restart('w2');
  });
});
