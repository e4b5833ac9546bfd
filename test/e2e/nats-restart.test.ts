// A nats-server restart under a running cluster (issue 15, item 1): a real nats-server, the
// transport and two workers; testkit UAs play the PBX and a carrier. Whether the server comes
// back on an empty store (a lost disk: every bucket and stream gone) or on its own store, new
// calls are answered again within seconds without restarting a worker, the concurrency limit
// counts exactly the calls the workers hold (a call held across the restart included), and the
// records of calls after the restart reach SB_CDR. What happens during the outage itself is
// another part of the issue; this file looks at what happens once NATS is back.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, UserAgent, type Call, type ManagedProcess, type NatsServerHandle, type NatsRestartOptions } from '@switchboard/testkit';
import { CDR_STREAM } from '@switchboard/wire';
import { acmeTrunking, callIdLandingOn, natsClient, startTransport, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';

const PBX_HOST = '127.0.0.15';
const CARRIER_HOST = '127.0.0.25';
/** The trunk's maxConcurrent. */
const M = 2;
/** How soon after NATS is back a new call must be answered. */
const RECOVERY_MS = 5_000;

describe('a nats-server restart under a running cluster', () => {
  let nats: NatsServerHandle;
  let t1: RunningTransport;
  const workers: ManagedProcess[] = [];
  let pbx: UserAgent;
  let carrier: UserAgent;
  let edge: { host: string; port: number };
  let n = 0;
  /** A new number each call, so no two calls look alike in the logs. */
  const nextNumber = () => `sip:+1415555${String(3000 + n++).padStart(4, '0')}@acme.trunks.example`;
  const callIdOn = (worker: string) => callIdLandingOn(worker, ['w1', 'w2']);

  before(async () => {
    nats = await startNatsServer();
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100', t1: 100 });
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100' });
    carrier.onInvite({ ring: 0 });
    t1 = await startTransport('t1', nats.url);
    const file = writeCluster(nats.url, acmeTrunking({
      pbx: { host: PBX_HOST, port: pbx.port }, carrier: { host: CARRIER_HOST, port: carrier.port }, trunk: { restrictions: { maxConcurrent: M } },
    }), { t1: 100 });
    for (const id of ['w1', 'w2']) workers.push(await startWorker(id, file, nats.url));
    await workersKnown(t1, ['w1', 'w2']);
    edge = { host: '127.0.0.1', port: t1.udpPort };
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGINT')));
    await t1?.proc.stop();
    for (const ua of [pbx, carrier]) await ua?.stop();
    await nats?.stop();
  });

  /**
   * Places a call every 300 ms from the moment NATS is back until one is answered, failing when
   * none is within RECOVERY_MS. Every attempt is then seen through to its final response (an
   * INVITE sent while the cluster was reconnecting is retransmitted and may still get through)
   * and whatever was answered is hung up, so no call is left holding a slot.
   */
  async function answeredAgainAfter(backAt: number): Promise<number> {
    const attempts: Call[] = [];
    let answeredAt: number | undefined;
    while (answeredAt === undefined && Date.now() - backAt < RECOVERY_MS) {
      const call = pbx.call({ to: nextNumber(), via: edge });
      attempts.push(call);
      call.answered.then(() => (answeredAt ??= Date.now()), () => undefined);
      await sleep(300);
    }
    const outcomes = await Promise.all(attempts.map((call) => call.wait('outcome', 40_000)));
    await Promise.all(attempts.filter((_, i) => outcomes[i]?.status === 200).map((call) => call.established.then(() => call.hangup())));
    assert.ok(
      answeredAt !== undefined && answeredAt - backAt <= RECOVERY_MS,
      `no call answered within ${RECOVERY_MS} ms of NATS being back; outcomes: ${outcomes.map((o) => `${o.status} ${o.reason}`).join(', ')}\n${recoveryLog()}`,
    );
    return answeredAt - backAt;
  }

  /** What the workers logged of their way back (fencing, slot verification, buckets made again, warnings), to tell what went wrong. */
  const recoveryLog = (): string =>
    workers.flatMap((w) => w.lines.filter((l) => /"event":"(fenced|unfenced|verify-failed|nats-reconnected|slot[a-z-]*|[a-z-]*bucket[a-z-]*)"|"level":[456]0/.test(l.text)).map((l) => `[${w.name}] ${l.text}`)).join('\n');

  /** The held call and `M` new ones, on both workers at once: M + 1 calls for M slots, exactly one refused. */
  async function limitHoldsWith(held: Call): Promise<void> {
    const calls = [callIdOn('w1'), callIdOn('w2')].map((callId) => pbx.call({ to: nextNumber(), via: edge, callId }));
    const outcomes = await Promise.all(calls.map((call) => call.outcome));
    const log = recoveryLog();
    // every call hung up before anything is asserted, so that a failure here leaves no slot taken for the next test
    await Promise.all(calls.filter((_, i) => outcomes[i]?.status === 200).map((call) => call.established.then(() => call.hangup())));
    const heldHangup = await held.hangup();
    const refused = outcomes.filter((o) => o.status !== 200);
    assert.equal(refused.length, 1, `one refusal for ${M + 1} calls on ${M} slots; got ${outcomes.map((o) => `${o.status} ${o.reason}`).join(', ')}\n${log}`);
    assert.equal(refused[0]?.status, 503);
    assert.equal(refused[0]?.reason, 'Concurrent Call Limit');
    assert.equal(heldHangup.status, 200, 'the call held across the restart is hung up through the cluster');
  }

  /** A call up on w1 through the restart: its slot must be in the rebuilt count. */
  async function holdCall(): Promise<Call> {
    const call = pbx.call({ to: nextNumber(), via: edge, callId: callIdOn('w1') });
    await call.established;
    return call;
  }

  async function restartNats(options: NatsRestartOptions): Promise<number> {
    await nats.restart(options);
    return Date.now();
  }

  test('baseline: calls are answered and the limit refuses the one call too many', async () => {
    const held = await holdCall();
    await limitHoldsWith(held);
  });

  test('back on an EMPTY store: calls answered again within 5 s, the limit exact (the held call counted once), records stored again', async (t) => {
    const held = await holdCall();
    await sleep(300); // its slot written
    const backAt = await restartNats({ emptyStore: true });
    t.diagnostic(`first call answered ${await answeredAgainAfter(backAt)} ms after NATS was back`);
    await sleep(300); // the releases of the recovery calls written
    await limitHoldsWith(held);

    const nc = await natsClient(nats.url);
    try {
      const jsm = await jetstreamManager(nc);
      for (const stream of ['KV_sb-limits', 'KV_sb-config', CDR_STREAM]) {
        assert.equal((await jsm.streams.info(stream)).config.storage, 'file', `${stream} in file storage`);
      }
      assert.equal((await jsm.streams.info('KV_sb-config')).state.messages, 1, 'the live configuration is in the new sb-config');
      let stored = 0;
      for (let i = 0; i < 50 && stored === 0; i++) {
        stored = (await jsm.streams.info(CDR_STREAM)).state.messages;
        if (stored === 0) await sleep(100);
      }
      assert.ok(stored > 0, 'records of calls after the restart reach the new SB_CDR');
    } finally {
      await nc.close();
    }
  });

  test('back on the SAME store: calls answered again within 5 s, the limit exact', async (t) => {
    const held = await holdCall();
    await sleep(300);
    const backAt = await restartNats({});
    t.diagnostic(`first call answered ${await answeredAgainAfter(backAt)} ms after NATS was back`);
    await sleep(300);
    await limitHoldsWith(held);
  });
});
