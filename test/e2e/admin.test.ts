// The operator API on NATS end to end (issue 9): a real nats-server, transport and two workers;
// every admin endpoint asked through the AdminClient, as the CLI asks it, and found by the NATS
// services framework's discovery. testkit UAs play the customer's PBX and a carrier.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/nats-core';
import type { SipResponse } from '@switchboard/sip';
import { Svcm } from '@nats-io/services';
import { AdminCallError, AdminClient } from '@switchboard/admin';
import { isFinalNotify, sipfragStatus, startNatsServer, UserAgent, type Call, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { CONFIG_SERVICE, Subjects, WORKER_SERVICE } from '@switchboard/wire';
import { callIdLandingOn, callUp, natsClient, startTransport, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';

const PBX_HOST = '127.0.0.14';
const CARRIER_HOST = '127.0.0.23';

function trunking(carrierPort: number) {
  return {
    carriers: [{ id: 'carrier', addresses: [{ host: CARRIER_HOST, port: carrierPort }] }],
    trunks: [{
      id: 'acme', domain: 'acme.trunks.example', acl: [`${PBX_HOST}/32`],
      numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
      routing: [{ prefix: '+1', carriers: ['carrier'] }],
      restrictions: { blocked: [{ prefix: '+1900', name: 'premium-rate' }] },
      callerId: { allowed: ['+1212'] },
    }],
  };
}

const rejects = (code: number, message?: RegExp) => (e: unknown) => e instanceof AdminCallError && e.code === code && (message === undefined || message.test(e.message));

describe('admin API over NATS (services) against transport and two workers', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let admin: AdminClient;
  let t1: RunningTransport;
  const workers: ManagedProcess[] = [];
  let pbx: UserAgent;
  let carrier: UserAgent;
  let edge: { host: string; port: number };

  before(async () => {
    nats = await startNatsServer();
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100' });
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100' });
    t1 = await startTransport('t1', nats.url);
    const file = writeCluster(nats.url, trunking(carrier.port), { t1: 100, limitsBucket: 'admin-e2e' });
    for (const id of ['w1', 'w2']) workers.push(await startWorker(id, file, nats.url));
    await workersKnown(t1, ['w1', 'w2']);
    edge = { host: '127.0.0.1', port: t1.udpPort };
    nc = await natsClient(nats.url);
    admin = new AdminClient(nc);
  });

  after(async () => {
    await nc?.close();
    await Promise.all(workers.map((w) => w.stop('SIGINT')));
    await t1?.proc.stop();
    for (const ua of [pbx, carrier]) await ua?.stop();
    await nats?.stop();
  });

  const termination = (number: string, worker?: string) =>
    callUp(pbx, carrier, `sip:${number}@acme.trunks.example`, edge, worker === undefined ? undefined : callIdLandingOn(worker, ['w1', 'w2']));

  test('the workers are found by services discovery, with per-endpoint stats', async () => {
    assert.deepEqual((await admin.workers()).map((w) => w.id), ['w1', 'w2']);
    const client = new Svcm(nc).client({ strategy: 'timer', maxWait: 500 });
    const infos = [];
    for await (const info of await client.info(WORKER_SERVICE)) infos.push(info);
    assert.equal(infos.length, 2);
    const subjects = infos.flatMap((i) => i.endpoints.map((e) => e.subject)).sort();
    assert.ok(subjects.includes(Subjects.adminWorker('w1', 'calls.hangup')) && subjects.includes(Subjects.adminWorker('w2', 'drain')));
    const configs = [];
    for await (const info of await client.info(CONFIG_SERVICE)) configs.push(info);
    assert.equal(configs.length, 2, 'every worker serves the configuration (one answers each request)');
    await admin.stats('w1');
    const stats = [];
    for await (const s of await client.stats(WORKER_SERVICE)) stats.push(s);
    const statsEndpoint = stats.flatMap((s) => s.endpoints ?? []).find((e) => e.subject === Subjects.adminWorker('w1', 'stats'));
    assert.ok((statsEndpoint?.num_requests ?? 0) >= 1, 'per-endpoint request counts');
  });

  test('a bad request is answered with a code and a message naming the field, never silence', async () => {
    await assert.rejects(admin.ask(Subjects.adminWorker('w1', 'calls.show'), { id: 'nope' }), rejects(400, /^id: /));
    await assert.rejects(admin.ask(Subjects.adminWorker('w1', 'calls.list'), { trunk: 'acme', extra: 1 }), rejects(400));
    const raw = await nc.request(Subjects.adminWorker('w1', 'stats'), '{not json', { timeout: 2_000 });
    assert.equal(raw.headers?.get('Nats-Service-Error-Code'), '400');
    assert.match(raw.string(), /not JSON/);
    await assert.rejects(admin.showCall('0000000000000000'), rejects(404));
  });

  test('calls.list and calls.show: the call, its legs and their dialogs; calls.hangup ends both legs with BYE', async () => {
    const { call, far } = await termination('+14155551000');
    // the worker takes the PBX's ACK a moment after the PBX sent it: ask until it has (the lookup
    // no longer waits 1 s for discovery, which used to leave it that moment)
    let listed = await admin.listCalls({ trunk: 'acme' });
    for (let i = 0; i < 100 && listed.find((c) => c.to === '+14155551000')?.state !== 'confirmed'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      listed = await admin.listCalls({ trunk: 'acme' });
    }
    const mine = listed.find((c) => c.to === '+14155551000');
    assert.ok(mine, JSON.stringify(listed));
    assert.equal(mine.state, 'confirmed');
    assert.equal(mine.direction, 'termination');
    assert.equal((await admin.listCalls({ trunk: 'other' })).length, 0);
    const shown = await admin.showCall(mine.id);
    assert.deepEqual(shown.legList.map((l) => [l.name, l.role, l.dialog]), [['a', 'uas', 'confirmed'], ['b1', 'uac', 'confirmed']]);
    assert.equal(shown.legList[0]?.sipCallId, call.callId);
    assert.equal((await admin.hangup(mine.id)).worker, mine.worker);
    assert.equal((await call.ended).how, 'bye');
    assert.equal((await far.ended).how, 'bye');
  });

  test('calls.transfer: the remaining party is connected to the target through the transfer actor, the customer released', async () => {
    const { call, far } = await termination('+14155551001');
    const [mine] = (await admin.listCalls()).filter((c) => c.to === '+14155551001');
    carrier.onNextInvite({ ring: 0 });
    const started = await admin.transfer(mine?.id ?? '', '+14155552000');
    assert.equal(started.kind, 'pstn');
    const target = await carrier.nextCall();
    assert.match(target.invite.uri.toString(), /^sip:\+14155552000@/);
    await far.waitForRequest('INVITE'); // re-pointed at the new party
    assert.equal((await call.ended).how, 'bye', 'the customer did not ask: released at once');
    assert.deepEqual((await admin.showCall(mine?.id ?? '')).transferList.map((t) => [t.kind, t.outcome]), [['pstn', 'answered']]);
    await assert.rejects(admin.transfer(mine?.id ?? '', 'sip:x@acme.trunks.example'), rejects(422, /403/), 'the customer\'s leg is gone: nobody may transfer');
    await far.hangup();
    await target.ended;
  });

  test('config.set: a new blocked prefix refuses the next call at once; the call in progress keeps its configuration', async () => {
    const { call, far } = await termination('+14155553000');
    const before = await admin.getConfig();
    const config = structuredClone(before.trunking) as ReturnType<typeof trunking>;
    config.trunks[0]?.restrictions.blocked.push({ prefix: '+1415555', name: 'test-block' });
    const written = await admin.setConfig(config, before.revision);
    assert.ok(written.revision > before.revision);
    // every worker watches the bucket: wait until both run the new revision
    await Promise.all(workers.map((w) => w.waitFor((l) => l.json?.event === 'config-applied' && l.json.revision === written.revision)));
    for (const worker of ['w1', 'w2']) {
      const refused = await pbx.call({ to: 'sip:+14155553001@acme.trunks.example', via: edge, callId: callIdLandingOn(worker, ['w1', 'w2']) }).ended;
      assert.equal((refused.message as SipResponse | undefined)?.status, 403, `refused on ${worker}`);
    }
    assert.equal((await call.request('INFO', { body: 'still here', contentType: 'text/plain' })).status, 200, 'the call in progress is up');
    // and it keeps the policy it started with: its transfer to a prefix blocked since then goes through
    carrier.onNextInvite({ ring: 0 });
    assert.equal((await call.refer('sip:+14155553999@acme.trunks.example')).status, 202);
    const target = await carrier.nextCall();
    assert.match(target.invite.uri.toString(), /^sip:\+14155553999@/);
    assert.equal(sipfragStatus(await call.waitForNotify(isFinalNotify)), 200);
    await call.hangup();
    await far.hangup();
    await target.ended;
    // a write from an older revision is refused; an invalid one too, naming the field; the running config is untouched
    await assert.rejects(admin.setConfig(config, before.revision), rejects(409));
    const bad = structuredClone(config);
    (bad.trunks[0] as { routing: { prefix: string }[] }).routing[0]!.prefix = 'abc';
    await assert.rejects(admin.setConfig(bad), rejects(400, /trunks\[0\]\.routing\[0\]\.prefix/));
    const after = await admin.getConfig();
    assert.equal(after.revision, written.revision);
    // back as it was, for the tests after this one
    await admin.setConfig(before.trunking, written.revision);
  });

  test('stats: calls per second, active calls, responses by class, refusals, transfers by kind, per trunk', async () => {
    const stats = await admin.allStats();
    assert.equal(stats.length, 2);
    const total = (name: string) => stats.reduce((n, s) => n + (s.counters[name] ?? 0), 0);
    assert.ok(total('calls.started') >= 4);
    assert.ok(total('responses.2xx') > 0 && total('responses.403') >= 2);
    assert.ok(total('transfer.started.pstn') >= 1 && total('transfer.answered.pstn') >= 1);
    assert.ok(total('calls.trunk.acme') >= 3, 'the calls the trunk placed');
    assert.ok(total('refused.destination-blocked') >= 2);
    for (const s of stats) {
      assert.equal(typeof s.callsPerSecond, 'number');
      assert.equal(typeof s.calls, 'number');
      assert.ok(s.callsByTrunk !== undefined && s.version !== undefined && s.uptimeMs > 0);
    }
  });

  test('workers.drain: the drained worker takes no new calls; its calls in progress go on', async () => {
    const { call, far } = await termination('+14155554000', 'w2');
    assert.equal((await admin.drain('w2')).state, 'draining');
    await t1.proc.waitFor((l) => l.json?.event === 'worker' && l.json.worker === 'w2' && l.json.state === 'draining');
    assert.equal((await admin.stats('w2')).state, 'draining');
    const ups: { call: Call; far: Call }[] = [];
    for (let i = 0; i < 3; i++) ups.push(await termination(`+1415555410${i}`, 'w2')); // Call-IDs that w2 would win
    const calls = await admin.listCalls();
    for (let i = 0; i < 3; i++) assert.equal(calls.find((c) => c.to === `+1415555410${i}`)?.worker, 'w1');
    const page = await admin.ask<{ calls: unknown[]; truncated: boolean }>(Subjects.adminWorker('w1', 'calls.list'), { limit: 2 });
    assert.deepEqual([page.calls.length, page.truncated], [2, true], 'a listing is bounded, and says so');
    assert.equal(calls.find((c) => c.to === '+14155554000')?.worker, 'w2', 'the drained worker keeps its call');
    for (const up of [...ups, { call, far }]) {
      await up.call.hangup();
      await up.far.ended;
    }
  });
});
