// Flood protection at the edge (issue 19 part 2), end to end: a stranger on its own loopback
// address sends 20,000 INVITEs a second while the trunk's PBX places 50 calls a second. Every
// trunk call is answered, the worker spends no more CPU than without the flood (within 10 %),
// and the transport counts the drops. The same cluster shows that what the carrier and the PBX
// receive names no internal id (worker, transport, host). Full length: EDGE_FLOOD_SECONDS=10 (README "Security").
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, UserAgent, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { natsClient, startTransport, startWorker, transportStats, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';
import { cpuSeconds, startFlood } from '../support/edge-flood.js';
import { udpSocketDrops } from '../support/proc-stats.js';

const PBX_HOST = '127.0.0.10';
const CARRIER_HOST = '127.0.0.21';
const STRANGER_HOST = '127.0.0.99';
const FLOOD_RATE = 20_000;
const CALL_RATE = 50;
const SECONDS = Number(process.env.EDGE_FLOOD_SECONDS ?? 4);

function trunking(carrierPort: number) {
  return {
    carriers: [{ id: 'carrier', addresses: [{ host: CARRIER_HOST, port: carrierPort }], sources: [] }],
    trunks: [{
      id: 'acme', domain: 'acme.trunks.example', acl: [`${PBX_HOST}/32`],
      numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
      routing: [{ prefix: '', carriers: ['carrier'] }], callerId: { allowed: ['+1'] },
    }],
  };
}

describe('edge: flood protection', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let t1: RunningTransport;
  let worker: ManagedProcess;
  let pbx: UserAgent;
  let carrier: UserAgent;
  let edge: { host: string; port: number };

  before(async () => {
    nats = await startNatsServer();
    nc = await natsClient(nats.url);
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100' });
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100' });
    t1 = await startTransport('t1', nats.url);
    worker = await startWorker('w1', writeCluster(nats.url, trunking(carrier.port)), nats.url);
    await workersKnown(t1, ['w1']);
    edge = { host: '127.0.0.1', port: t1.udpPort };
  });

  after(async () => {
    await worker?.stop('SIGINT');
    await t1?.proc.stop();
    for (const ua of [pbx, carrier]) await ua?.stop();
    await nc?.close();
    await nats?.stop();
  });

  /** CALL_RATE calls a second for `seconds`, each answered by the carrier and hung up: how many were answered. */
  async function placeCalls(seconds: number, tag: string): Promise<{ placed: number; answered: number }> {
    const calls: Promise<boolean>[] = [];
    const start = Date.now();
    for (let i = 0; i < seconds * CALL_RATE; i++) {
      const due = start + (i * 1000) / CALL_RATE;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const call = pbx.call({ to: `sip:+1415555${String(i).padStart(4, '0')}@acme.trunks.example`, via: edge, callId: `${tag}-${i}@pbx.example` });
      calls.push(call.answered.then(async () => {
        await call.established;
        await call.hangup();
        return true;
      }, () => false));
    }
    const results = await Promise.all(calls);
    return { placed: results.length, answered: results.filter((ok) => ok).length };
  }

  /** The headers of every message the carrier received in one call, INVITE to BYE. */
  async function carrierView(): Promise<string[]> {
    carrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:+14155551234@acme.trunks.example', via: edge });
    const far = await carrier.nextCall();
    await call.established;
    await call.request('INFO', { body: 'x', contentType: 'text/plain' });
    await call.hangup();
    await far.ended;
    const seen = far.log.filter((e) => e.dir === 'in').map((e) => Buffer.from(e.raw).toString().split('\r\n\r\n', 1)[0] ?? '');
    assert.ok(seen.length >= 4, 'INVITE, ACK, INFO and BYE');
    return seen;
  }

  /** The headers of every message the PBX received in one call: responses to its INVITE, and the carrier's INFO and BYE as we relay them. */
  async function pbxView(): Promise<string[]> {
    carrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:+14155551235@acme.trunks.example', via: edge });
    const far = await carrier.nextCall();
    await call.established;
    await far.request('INFO', { body: 'x', contentType: 'text/plain' });
    await far.hangup();
    await call.ended;
    const seen = call.log.filter((e) => e.dir === 'in').map((e) => Buffer.from(e.raw).toString().split('\r\n\r\n', 1)[0] ?? '');
    assert.ok(seen.some((t) => t.startsWith('SIP/2.0 200 ')), 'the 200 to the INVITE');
    assert.ok(seen.some((t) => t.startsWith('INFO ')) && seen.some((t) => t.startsWith('BYE ')), 'INFO and BYE, built by us');
    return seen;
  }

  /** Where a name appears as a whole token (`w1` inside random hex is not a name). */
  function named(text: string): string | undefined {
    return ['w1', 't1', hostname()].find((name) => new RegExp(`(^|[^0-9a-zA-Z])${name}([^0-9a-zA-Z]|$)`, 'm').test(text));
  }

  test('what the carrier receives names no worker, transport or host: Via, Contact, Record-Route, From, To, Server, User-Agent', async () => {
    for (const text of await carrierView()) {
      // the routing ids are issue 16's (slot ids instead of worker ids): the next test
      const built = text.replace(/;(branch|tag)=[^;>,\s]+/g, '').replace(/^Call-ID:.*$/im, '');
      assert.equal(named(built), undefined, built);
    }
  });

  test('nor do its tags, branches and Call-ID', async () => {
    for (const text of await carrierView()) assert.equal(named(text), undefined, text);
  });

  test('what the PBX receives names none either: responses and in-dialog requests, tags and Call-ID included', async () => {
    for (const text of await pbxView()) assert.equal(named(text), undefined, text);
  });

  test(`${FLOOD_RATE} INVITEs/s from a stranger for ${SECONDS} s: every trunk call answered, worker CPU within 10 % of no flood, drops counted`, async () => {
    const pid = worker.child.pid ?? 0;
    assert.equal((await transportStats(nc, 't1')).edge.open, false, 'the worker told the transport its known sources');
    await placeCalls(1, 'warm'); // JIT and first-call costs out of both measurements

    const transportPid = t1.proc.child.pid ?? 0;
    let cpu = cpuSeconds(pid);
    let transportCpu = cpuSeconds(transportPid);
    const quiet = await placeCalls(SECONDS, 'quiet');
    const quietCpu = cpuSeconds(pid) - cpu;
    const quietTransportCpu = cpuSeconds(transportPid) - transportCpu;
    assert.equal(quiet.answered, quiet.placed, 'without the flood every call is answered');

    const kernelDropsBefore = udpSocketDrops(t1.udpPort) ?? 0;
    const flood = startFlood({ from: STRANGER_HOST, to: edge, rate: FLOOD_RATE, seconds: SECONDS });
    cpu = cpuSeconds(pid);
    transportCpu = cpuSeconds(transportPid);
    const flooded = await placeCalls(SECONDS, 'flooded');
    const floodCpu = cpuSeconds(pid) - cpu;
    const floodTransportCpu = cpuSeconds(transportPid) - transportCpu;
    const done = await flood.waitForEvent('flood-done');
    const sent = Number(done.sent ?? 0);

    assert.equal(flooded.answered, flooded.placed, 'under the flood every trunk call is answered');
    const stats = await transportStats(nc, 't1');
    const { strangerDropped } = stats.edge as { strangerDropped: number };
    // the kernel drops what the transport's socket has no room for (more of it on a busy machine);
    // every INVITE is either that or dropped by the transport at the edge — none got through
    const kernelDropped = (udpSocketDrops(t1.udpPort) ?? 0) - kernelDropsBefore;
    assert.ok(strangerDropped > 0, 'the transport itself dropped the stranger\'s INVITEs');
    assert.ok(strangerDropped + kernelDropped >= sent * 0.95, `of ${sent} INVITEs sent the transport dropped ${strangerDropped}, its socket's buffer ${kernelDropped}`);
    // CPU time (ticks of 10 ms) over the same number of calls; one tick of slack for the clock's grain
    process.stdout.write(`# edge flood: ${sent} INVITEs sent, ${strangerDropped} dropped at the edge, ${kernelDropped} by the socket's buffer; worker CPU ${quietCpu.toFixed(2)} s quiet, ${floodCpu.toFixed(2)} s flooded; transport CPU ${quietTransportCpu.toFixed(2)} s quiet, ${floodTransportCpu.toFixed(2)} s flooded (${quiet.placed} calls each)\n`);
    assert.ok(floodCpu <= quietCpu * 1.1 + 0.01, `worker CPU ${floodCpu} s under the flood, ${quietCpu} s without`);
  });
});
