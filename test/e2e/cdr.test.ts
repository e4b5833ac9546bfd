// Call detail records end to end (issue 8): a real nats-server with JetStream, the transport and
// two workers; testkit UAs play the customer's PBX, a carrier and a SIP peer on another domain.
// Records are read back through the NATS query (CdrClient), as the CLI and the page read them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { CdrClient, type CallDetailRecord } from '@switchboard/cdr';
import { launchChromium } from '@switchboard/cdr-web/testing';
import { freePort, isFinalNotify, ManagedProcess, sipfragStatus, startNatsServer, UserAgent, type Call, type NatsServerHandle } from '@switchboard/testkit';
import { CDR_STREAM } from '@switchboard/wire';
import { repoRoot } from '../support/paths.js';
import { acmeTrunking, callUp, natsClient, startTransport, startWorker, workersKnown, writeCluster } from '../support/cluster.js';

const PBX_HOST = '127.0.0.11';
const CARRIER_HOST = '127.0.0.22';
const PEER_HOST = '127.0.0.41';


/** nats-server, transport t1, workers w1 and w2, and the PBX, carrier and peer UAs, with `options` for the workers. */
async function startCluster(options: Parameters<typeof writeCluster>[2]) {
  const nats = await startNatsServer();
  const pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100' });
  const carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100' });
  const peer = await UserAgent.start({ name: 'peer', host: PEER_HOST, user: 'bob' });
  const t1 = await startTransport('t1', nats.url);
  const file = writeCluster(nats.url, acmeTrunking({ pbx: { host: PBX_HOST, port: pbx.port }, carrier: { host: CARRIER_HOST, port: carrier.port }, peer: { host: PEER_HOST, port: peer.port }, trunk: { transfer: { maxPerCall: 3 } } }), { t1: 100, ...options });
  const workers: ManagedProcess[] = [];
  for (const id of ['w1', 'w2']) workers.push(await startWorker(id, file, nats.url));
  await workersKnown(t1, ['w1', 'w2']);
  return {
    nats, pbx, carrier, peer, t1, workers, edge: { host: '127.0.0.1', port: t1.udpPort },
    async stop() {
      await Promise.all(workers.map((w) => w.stop('SIGINT')));
      await t1.proc.stop();
      for (const ua of [pbx, carrier, peer]) await ua.stop();
      await nats.stop();
    },
  };
}

/** The records of the call one of whose legs had SIP Call-ID `sipCallId`, once there are `count` of them. */
async function chainOf(cdr: CdrClient, since: number, sipCallId: string, count: number): Promise<CallDetailRecord[]> {
  let seen: CallDetailRecord[] = [];
  for (let i = 0; i < 100; i++) {
    const { records } = await cdr.query({ since, limit: 1000 });
    const root = records.find((r) => r.legs.some((l) => l.sipCallId === sipCallId));
    if (root !== undefined) {
      seen = (await cdr.query({ callId: root.callId })).records;
      if (seen.length >= count) return [...seen].sort((x, y) => x.id.localeCompare(y.id));
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`expected ${count} records for ${sipCallId}, saw ${seen.length}`);
}

describe('call detail records: calls and transfers through transport and two workers', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let cdr: CdrClient;
  let pbx: UserAgent;
  let carrier: UserAgent;
  let peer: UserAgent;
  let edge: { host: string; port: number };
  const since = Date.now();
  /** The chain of the test with two transfers, for the page. */
  let chain: CallDetailRecord[] = [];

  before(async () => {
    cluster = await startCluster({ limitsBucket: 'cdr-e2e', transferorByeMs: 1_000 });
    ({ nats, pbx, carrier, peer, edge } = cluster);
    nc = await natsClient(nats.url);
    cdr = new CdrClient(nc);
  });

  after(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  /** An origination call carrier → PBX (DID +14155550100), up. */
  async function origination(): Promise<{ call: Call; atPbx: Call }> {
    const { call, far } = await callUp(carrier, pbx, 'sip:+14155550100@127.0.0.1', edge);
    return { call, atPbx: far };
  }

  test('origination transferred to a number on the trunk\'s domain: two linked records, the second a billable PSTN call', async () => {
    const { call, atPbx } = await origination();
    carrier.onNextInvite({ ring: 0, answerAfter: 100 });
    assert.equal((await atPbx.refer('sip:+14155552000@acme.trunks.example')).status, 202);
    const target = await carrier.nextCall();
    assert.equal(sipfragStatus(await atPbx.waitForNotify(isFinalNotify)), 200);
    await atPbx.hangup();
    await new Promise((r) => setTimeout(r, 1_100));
    await call.hangup();
    await target.ended;
    const [original, referred] = await chainOf(cdr, since, call.callId, 2);
    assert.ok(original && referred);
    assert.equal(original.parentId, undefined);
    assert.equal(original.trunk, 'acme');
    assert.equal(original.direction, 'origination');
    assert.equal(original.disposition, 'answered');
    assert.equal(original.endedBy, 'caller', 'the carrier\'s caller hung up');
    assert.equal(original.from.normalised, '+13105550100');
    assert.equal(original.to.normalised, '+14155550100');
    assert.equal(referred.parentId, original.id);
    assert.equal(referred.callId, original.callId);
    assert.equal(referred.kind, 'pstn');
    assert.equal(referred.billable, true);
    assert.equal(referred.disposition, 'answered');
    assert.equal(referred.referTo, 'sip:+14155552000@acme.trunks.example');
    assert.equal(referred.to.normalised, '+14155552000');
    assert.equal(referred.carrier, 'carrier');
    assert.ok(referred.legs.some((l) => l.sipCallId === target.callId), 'the new leg\'s Call-ID');
    assert.ok(original.legs.some((l) => l.sipCallId === atPbx.callId) && original.legs.some((l) => l.sipCallId === call.callId));
    assert.ok(referred.billableSeconds >= 1);
    assert.ok(original.endedAt >= referred.answeredAt!, 'the caller stayed on the original call until the end');
  });

  test('origination transferred to another domain: the second record is SIP and not billable', async () => {
    const { call, atPbx } = await origination();
    peer.onNextInvite({ ring: 0 });
    assert.equal((await atPbx.refer('sip:bob@partner.example')).status, 202);
    const target = await peer.nextCall();
    assert.equal(sipfragStatus(await atPbx.waitForNotify(isFinalNotify)), 200);
    await atPbx.hangup();
    await target.established;
    await new Promise((r) => setTimeout(r, 200));
    await target.hangup();
    await call.ended;
    const [original, referred] = await chainOf(cdr, since, call.callId, 2);
    assert.equal(referred?.parentId, original?.id);
    assert.equal(referred?.kind, 'sip');
    assert.equal(referred?.billable, false);
    assert.equal(referred?.billableSeconds, 0);
    assert.equal(referred?.referTo, 'sip:bob@partner.example');
    assert.equal(referred?.carrier, undefined);
    assert.equal(referred?.endedBy, 'callee');
  });

  test('a failed transfer leaves a record saying so; the original call\'s record is as if there was none', async () => {
    const { call, atPbx } = await origination();
    carrier.onNextInvite({ reject: 486 });
    assert.equal((await atPbx.refer('sip:+14155552001@acme.trunks.example')).status, 202);
    assert.equal(sipfragStatus(await atPbx.waitForNotify(isFinalNotify)), 486);
    await call.hangup();
    await atPbx.ended;
    const [original, referred] = await chainOf(cdr, since, call.callId, 2);
    assert.equal(original?.disposition, 'answered');
    assert.equal(original?.endedBy, 'caller');
    assert.equal(referred?.parentId, original?.id);
    assert.equal(referred?.disposition, 'busy');
    assert.equal(referred?.status, 486);
    assert.equal(referred?.answeredAt, undefined);
    assert.equal(referred?.billableSeconds, 0);
    assert.ok((referred?.endedAt ?? Infinity) < (original?.endedAt ?? 0), 'the failed transfer ended before the call');
  });

  test('a chain of two transfers gives three records, each linked to the call it was referred from', async () => {
    const { call, atPbx } = await origination();
    peer.onNextInvite({ ring: 0 });
    assert.equal((await atPbx.refer('sip:alice@partner.example')).status, 202);
    const first = await peer.nextCall();
    assert.equal(sipfragStatus(await atPbx.waitForNotify(isFinalNotify)), 200);
    await atPbx.hangup();
    await first.established;
    await call.waitForRequest('INVITE');
    peer.onNextInvite({ ring: 0 });
    assert.equal((await first.refer('sip:carol@partner.example')).status, 202);
    const second = await peer.nextCall();
    assert.equal(sipfragStatus(await first.waitForNotify(isFinalNotify)), 200);
    await first.hangup();
    await second.established;
    await call.hangup();
    await second.ended;
    const records = await chainOf(cdr, since, call.callId, 3);
    chain = records;
    assert.equal(records.length, 3);
    const [r0, r1, r2] = records;
    assert.equal(r1?.parentId, r0?.id);
    assert.equal(r2?.parentId, r1?.id);
    assert.equal(r1?.referTo, 'sip:alice@partner.example');
    assert.equal(r2?.referTo, 'sip:carol@partner.example');
    assert.equal(r2?.referredBy, 'sip:alice@partner.example', 'the party on the other domain referred it on');
    assert.ok(records.every((r) => r.disposition === 'answered'));
  });

  test('the CLI lists the chain with referred calls indented under their parents, and shows one record with its chain', async () => {
    assert.equal(chain.length, 3, 'the chain test ran first');
    const [r0, r1, r2] = chain;
    const cli = (...args: string[]) => execFileSync(process.execPath, [join(repoRoot, 'packages/cli/dist/main.js'), '--server', nats.url, ...args], { encoding: 'utf8' });
    const table = cli('cdr', 'ls', '--call', r0?.callId ?? '').split('\n');
    assert.match(table[0] ?? '', /^RECORD\s+STARTED\s+TRUNK\s+DIR\s+KIND\s+BILLABLE/);
    const at = table.findIndex((l) => l.startsWith(r0?.id ?? '-'));
    assert.ok(at > 0, table.join('\n'));
    assert.match(table[at + 1] ?? '', new RegExp(`^\\s+└ ${r1?.id}`));
    assert.match(table[at + 2] ?? '', new RegExp(`^\\s{4,}└ ${r2?.id}`), 'the second transfer one level deeper');
    const json = JSON.parse(cli('cdr', 'ls', '--trunk', 'acme', '--since', '1h', '--json')) as (CallDetailRecord & { depth: number })[];
    const mine = json.filter((r) => r.callId === r0?.callId);
    assert.deepEqual(mine.map((r) => [r.id, r.depth]), [[r0?.id, 0], [r1?.id, 1], [r2?.id, 2]]);
    const shown = JSON.parse(cli('cdr', 'show', r1?.id ?? '', '--json')) as { record: CallDetailRecord; chain: unknown[] };
    assert.equal(shown.record.parentId, r0?.id);
    assert.equal(shown.chain.length, 3);
    assert.match(cli('cdr', 'show', r2?.id ?? ''), /kind:\s+sip/);
  });

  test('the CDR page (headless Chromium) shows a call\'s referred calls under it, with kind and billable', async (t) => {
    assert.equal(chain.length, 3, 'the chain test ran first');
    const port = await freePort();
    const web = ManagedProcess.node('cdr-web', join(repoRoot, 'packages/cdr-web/dist/main.js'), ['--listen', `127.0.0.1:${port}`], { SWITCHBOARD_NATS_URL: nats.url });
    t.after(() => web.stop());
    await web.waitForEvent('nats-connected');
    const browser = await launchChromium();
    t.after(() => browser.close());
    const page = await browser.newPage();
    const res = await page.goto(`http://127.0.0.1:${port}/?trunk=acme&since=1h`);
    assert.equal(res?.status(), 200);
    const rows = page.locator('section.trunk[data-trunk="acme"] tbody tr');
    const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-record-id')));
    const [r0, r1, r2] = chain;
    const at = ids.indexOf(r0?.id ?? '');
    assert.ok(at >= 0, 'the call is on the page');
    assert.deepEqual(ids.slice(at, at + 3), [r0?.id, r1?.id, r2?.id], 'each referred call right under the call it was referred from');
    for (const r of [r1, r2]) {
      const row = page.locator(`tr[data-record-id="${r?.id}"]`);
      assert.equal(await row.getAttribute('data-parent-id'), r?.parentId);
      assert.match((await row.getAttribute('class')) ?? '', /referred/);
      assert.equal(await row.locator('td.kind').textContent(), 'sip');
      assert.equal(await row.locator('td.billable').textContent(), 'no');
    }
    assert.equal(await page.locator(`tr[data-record-id="${r0?.id}"] td.billable`).textContent(), 'yes');
  });
});

describe('call detail records survive a NATS restart', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;

  before(async () => {
    cluster = await startCluster({ limitsBucket: 'cdr-restart', noAnswerMs: 2_000 });
  });

  after(async () => {
    await cluster?.stop();
  });

  test('calls ending while nats-server is down: every record arrives once it is back, none twice', async () => {
    const { nats, pbx, carrier, workers, edge } = cluster;
    const since = Date.now();
    // four calls that are up, and three that ring at the carrier and will time out in the workers
    const up: Call[] = [];
    for (let i = 0; i < 4; i++) up.push((await callUp(pbx, carrier, `sip:+1415555100${i}@acme.trunks.example`, edge)).call);
    const ringing: Call[] = [];
    for (let i = 0; i < 3; i++) {
      carrier.onNextInvite({ ring: 0, answer: false });
      ringing.push(pbx.call({ to: `sip:+1415555200${i}@acme.trunks.example`, via: edge }));
      await carrier.nextCall();
    }
    // the answered calls end just before the crash: their records are being published as it happens
    await Promise.all(up.map((c) => c.hangup()));
    await nats.kill();
    // the ringing calls reach the no-answer timer while NATS is down: their records can only go to the spool
    await Promise.race(workers.map((w) => w.waitFor((l) => l.json?.event === 'cdr-publish-failed', 30_000)));
    await nats.restart();
    const nc = await natsClient(nats.url);
    try {
      const cdr = new CdrClient(nc);
      const sipCallIds = new Set([...up, ...ringing].map((c) => c.callId));
      let mine: CallDetailRecord[] = [];
      for (let i = 0; i < 150 && mine.length < 7; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const { records } = await cdr.query({ since, limit: 1000 }).catch(() => ({ records: [] as CallDetailRecord[] }));
        mine = records.filter((r) => r.legs.some((l) => sipCallIds.has(l.sipCallId)));
      }
      assert.equal(mine.length, 7, 'every call has its record');
      assert.equal(new Set(mine.map((r) => r.id)).size, 7);
      assert.deepEqual(mine.map((r) => r.disposition).sort(), ['answered', 'answered', 'answered', 'answered', 'no-answer', 'no-answer', 'no-answer']);
      const info = await (await jetstreamManager(nc)).streams.info(CDR_STREAM);
      assert.equal(info.state.messages, 7, 'the stream holds each record once');
    } finally {
      await nc.close();
    }
  });
});
