// NATS accounts and permissions end to end (issue 9; least privilege, issue 19): a real
// nats-server running the production rules of deploy/nats/ (nats-server.conf and its
// permissions.conf), a transport and a worker connected as their users (the worker's config
// service as config-writer). A call still goes through; then client connections as each user,
// with its role's inbox prefix, show what the server refuses (a "Permissions Violation", which
// nats.js reports as a PermissionViolationError on the connection's status, or as the cause of
// a request's rejection) and what it lets through.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import { AdminClient } from '@switchboard/admin';
import { KvWatchInclude, Kvm } from '@nats-io/kv';
import { errors, type NatsConnection, type PermissionViolationError } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { CdrClient } from '@switchboard/cdr';
import { startNatsServer, UserAgent, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { CDR_STREAM, CONFIG_BUCKET, decodeEdgeSources, decodeMap, encodeEdgeSources, natsInboxPrefix, NONCES_BUCKET, Subjects, TRUNKING_KEY, WORKER_SERVICE } from '@switchboard/wire';
import { oneCarrierTrunking, startEdgeWorker, startTransport, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

type NatsUser = 'transport' | 'worker' | 'config-writer' | 'admin' | 'cdr-web';

const PASSWORDS: Record<NatsUser, string> = {
  transport: 'transport-test-password',
  worker: 'worker-test-password',
  'config-writer': 'config-writer-test-password',
  admin: 'admin-test-password',
  'cdr-web': 'cdr-web-test-password',
};
/** The variables deploy/nats/nats-server.conf reads the passwords from. */
const PASSWORD_VARIABLES: Record<NatsUser, string> = {
  transport: 'NATS_TRANSPORT_PASSWORD',
  worker: 'NATS_WORKER_PASSWORD',
  'config-writer': 'NATS_CONFIG_WRITER_PASSWORD',
  admin: 'NATS_ADMIN_PASSWORD',
  'cdr-web': 'NATS_CDR_WEB_PASSWORD',
};
const CLI_MAIN = join(repoRoot, 'packages/cli/dist/main.js');

function replaceOnce(text: string, pattern: string | RegExp, by: string): string {
  const found = typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
  if (!found) throw new Error(`deploy/nats/nats-server.conf: expected ${String(pattern)} (the test substitutes it)`);
  return text.replace(pattern, () => by);
}

/**
 * The committed production configuration as the test server runs it: the passwords defined in
 * the file (nats-server looks a variable up in the file before its environment), the included
 * permissions inlined (the testkit writes the text into a directory of its own), and address,
 * ports and store left to the testkit's command line.
 */
function productionConfig(): string {
  const dir = join(repoRoot, 'deploy/nats');
  let text = readFileSync(join(dir, 'nats-server.conf'), 'utf8');
  text = replaceOnce(text, 'include "permissions.conf"', readFileSync(join(dir, 'permissions.conf'), 'utf8'));
  text = replaceOnce(text, /^port: .*$/m, '');
  text = replaceOnce(text, /^http_port: .*$/m, '');
  text = replaceOnce(text, /^jetstream \{[^}]*\}/m, 'jetstream: enabled');
  const passwords = Object.entries(PASSWORD_VARIABLES).map(([user, variable]) => `${variable}: "${PASSWORDS[user as NatsUser]}"`);
  return `${passwords.join('\n')}\n${text}`;
}

const userEnv = (user: NatsUser): NodeJS.ProcessEnv => ({ SWITCHBOARD_NATS_USER: user, SWITCHBOARD_NATS_PASS: PASSWORDS[user] });
/** A worker process: its own user, and its config service's. */
const workerEnv: NodeJS.ProcessEnv = {
  ...userEnv('worker'), SWITCHBOARD_NATS_CONFIG_WRITER_USER: 'config-writer', SWITCHBOARD_NATS_CONFIG_WRITER_PASS: PASSWORDS['config-writer'],
};

/** A client connection as `user`, keeping every permission violation the server reports on it. */
interface Client {
  nc: NatsConnection;
  /** The violation the server reported for `operation` on `subject` (waits for it, bounded). */
  violation(operation: 'publish' | 'subscription', subject: string): Promise<PermissionViolationError>;
  /** Every violation reported so far. */
  violations: PermissionViolationError[];
}

describe('NATS accounts and permissions: transport, worker, admin and cdr-web users', () => {
  let nats: NatsServerHandle;
  let t1: RunningTransport;
  let w1: ManagedProcess;
  let carrier: UserAgent;
  let pbx: UserAgent;
  const clients: NatsConnection[] = [];

  /** `inboxPrefix`: the role's own (as its processes connect) unless another is asked for. */
  async function connectAs(user: NatsUser, inboxPrefix = natsInboxPrefix(user)): Promise<Client> {
    const nc = await connect({ servers: nats.url, user, pass: PASSWORDS[user], name: `permissions-test-${user}`, maxReconnectAttempts: 0, inboxPrefix });
    clients.push(nc);
    const violations: PermissionViolationError[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'error' && s.error instanceof errors.PermissionViolationError) violations.push(s.error);
    })();
    return {
      nc,
      violations,
      async violation(operation, subject) {
        await nc.flush();
        for (let i = 0; i < 200; i++) {
          const found = violations.find((v) => v.operation === operation && v.subject === subject);
          if (found !== undefined) return found;
          await new Promise((r) => setTimeout(r, 25));
        }
        assert.fail(`no permission violation for ${operation} ${subject}; saw ${JSON.stringify(violations.map((v) => v.message))}`);
      },
    };
  }

  /** A request that the server refuses: nats.js rejects it with the violation as its cause. */
  async function assertRequestDenied(client: Client, subject: string): Promise<void> {
    await assert.rejects(client.nc.request(subject, '{}', { timeout: 5_000 }), (err: Error) => {
      assert.ok(err.cause instanceof errors.PermissionViolationError, `expected a permission violation, got ${err.message}`);
      assert.equal(err.cause.operation, 'publish');
      assert.equal(err.cause.subject, subject);
      return true;
    });
  }

  before(async () => {
    nats = await startNatsServer({ config: productionConfig() });
    carrier = await UserAgent.start({ name: 'carrier' });
    pbx = await UserAgent.start({ name: 'pbx', user: '+12125550100' });
    t1 = await startTransport('t1', nats.url, { env: userEnv('transport') });
    const file = writeCluster(nats.url, oneCarrierTrunking(carrier.port));
    w1 = await startWorker('w1', file, nats.url, workerEnv);
    await workersKnown(t1, ['w1']);
  });

  after(async () => {
    for (const nc of clients) await nc.close().catch(() => undefined);
    await w1?.stop('SIGINT');
    await t1?.proc.stop();
    await pbx?.stop();
    await carrier?.stop();
    await nats?.stop();
  });

  test('a call goes through transport and worker connected as their users, with nothing refused', async () => {
    carrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:+14155551234@trunk.example', via: { host: '127.0.0.1', port: t1.udpPort } });
    const far = await carrier.nextCall();
    await call.established;
    await call.hangup();
    assert.equal((await far.ended).how, 'bye');
    // its record went through JetStream (stream SB_CDR) and comes back through the CDR query
    const cdr = new CdrClient((await connectAs('admin')).nc);
    let recorded = false;
    for (let i = 0; i < 100 && !recorded; i++) {
      recorded = (await cdr.query({ limit: 100 })).records.some((r) => r.legs.some((l) => l.sipCallId === call.callId));
      if (!recorded) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(recorded, 'the call detail record of the call is stored and found');
    // the server logs every refusal ("Publish Violation", "Subscription Violation") with the user
    assert.doesNotMatch(nats.process.output(), /Violation/, 'the transport and the worker stay within their permissions');
  });

  test('an edge-worker connects its transport half as transport and its worker half as worker: a call goes through, nothing refused', async () => {
    const file = writeCluster(nats.url, oneCarrierTrunking(carrier.port));
    const edge = await startEdgeWorker('w9', file, nats.url, {
      ...workerEnv, SWITCHBOARD_TRANSPORT_ID: 't9', SWITCHBOARD_EDGE_NATS_USER: 'transport', SWITCHBOARD_EDGE_NATS_PASS: PASSWORDS.transport,
    });
    try {
      carrier.onNextInvite({ ring: 0 });
      const call = pbx.call({ to: 'sip:+14155551235@trunk.example', via: { host: '127.0.0.1', port: edge.udpPort } });
      const far = await carrier.nextCall();
      await call.established;
      assert.equal((await call.hangup()).status, 200);
      assert.equal((await far.ended).how, 'bye');
      assert.doesNotMatch(nats.process.output(), /Violation/, 'each half stays within its user\'s permissions');
      assert.match(edge.proc.output(), /"colocatedWorker":"w9"/);
    } finally {
      await edge.proc.stop('SIGINT');
      // t1 hears w9's heartbeats too: the later tests' calls through t1 must not be given to it
      await t1.proc.waitFor((l) => l.json?.event === 'worker-lost' && l.json.worker === 'w9', 15_000);
    }
  });

  test('worker: may serve admin requests but not make them', async () => {
    const worker = await connectAs('worker');
    await assertRequestDenied(worker, Subjects.adminConfig('get'));
    worker.nc.publish(Subjects.adminConfig('set'), '{}');
    await worker.violation('publish', Subjects.adminConfig('set'));
    worker.nc.publish(Subjects.adminWorker('w1', 'drain'), '{}');
    await worker.violation('publish', Subjects.adminWorker('w1', 'drain'));

    // serving: a worker subscribes to admin subjects and services discovery, and answers
    // through the response permission (an admin asks)
    const served = worker.nc.subscribe(Subjects.adminWorker('permtest', 'stats'), { callback: (_e, m) => void m.respond('{"served":true}') });
    const discovery = worker.nc.subscribe('$SRV.PING.switchboard-permtest', { callback: (_e, m) => void m.respond('{"name":"switchboard-permtest"}') });
    await worker.nc.flush();
    const admin = await connectAs('admin');
    assert.deepEqual((await admin.nc.request(Subjects.adminWorker('permtest', 'stats'), '{}', { timeout: 5_000 })).json(), { served: true });
    assert.deepEqual((await admin.nc.request('$SRV.PING.switchboard-permtest', '', { timeout: 5_000 })).json(), { name: 'switchboard-permtest' });
    served.unsubscribe();
    discovery.unsubscribe();
    assert.deepEqual(worker.violations.map((v) => v.subject).sort(), [Subjects.adminConfig('get'), Subjects.adminConfig('set'), Subjects.adminWorker('w1', 'drain')].sort());
  });

  test('worker takeover (issue 16): a worker hears heartbeats, forwards a handed-over slot\'s SIP and writes sb-slots; a transport touches no bucket', async () => {
    const worker = await connectAs('worker');
    const heard = worker.nc.subscribe(Subjects.workerHeartbeat, { max: 1 });
    await worker.nc.flush();
    for await (const _ of heard) break; // w1's next heartbeat
    worker.nc.publish(Subjects.workerInbound('permtest'), new Uint8Array(1));
    worker.nc.publish('$KV.sb-slots.slot.4095', '{"worker":"permtest","epoch":1}');
    worker.nc.publish('$KV.sb-dialogs.1.permtest', new Uint8Array(1));
    await worker.nc.flush();
    assert.deepEqual(worker.violations, []);
    const transport = await connectAs('transport');
    transport.nc.publish('$KV.sb-slots.slot.4095', '{"worker":"t1","epoch":9}');
    await transport.violation('publish', '$KV.sb-slots.slot.4095');
  });

  test('admin: no raw SIP, no heartbeats, no JetStream; the CDR query answers', async () => {
    const admin = await connectAs('admin');
    for (const subject of [Subjects.workerInbound('w1'), Subjects.transportOutbound('t1'), Subjects.sendFailure('w1'), Subjects.workerHeartbeat]) {
      admin.nc.publish(subject, new Uint8Array(1));
      await admin.violation('publish', subject);
    }
    // the CDR stream is read through sb.cdr.query only: no JetStream API, no stream subjects
    await assertRequestDenied(admin, '$JS.API.STREAM.INFO.SB_CDR');
    admin.nc.publish(Subjects.cdrRecord('acme', 'forged'), '{}');
    await admin.violation('publish', Subjects.cdrRecord('acme', 'forged'));
    // nor SIP to read: the transport's and the workers' subjects are closed to its subscriptions
    admin.nc.subscribe('sb.sip.>');
    await admin.violation('subscription', 'sb.sip.>');

    const reply = (await admin.nc.request(Subjects.cdrQuery, JSON.stringify({ limit: 10 }), { timeout: 5_000 })).json<{ ok: boolean }>();
    assert.equal(reply.ok, true, 'the worker answers the admin');
    const stats = decodeMap((await admin.nc.request(Subjects.workerStats('w1'), '', { timeout: 5_000 })).data) as { workerId: string };
    assert.equal(stats.workerId, 'w1');
    // the transport's stats with the workers it heard heartbeat: how the CLI knows when discovery is complete
    const transport = decodeMap((await admin.nc.request(Subjects.transportStatsAll, '', { timeout: 5_000 })).data) as { workers: { workerId: string }[] };
    assert.deepEqual(transport.workers.map((w) => w.workerId), ['w1']);

    // the admin API the worker serves (NATS services): discovery, then its endpoints, answered
    // through the worker's response permission
    const ping = (await admin.nc.request(`$SRV.PING.${WORKER_SERVICE}`, '', { timeout: 5_000 })).json<{ metadata?: { worker?: string } }>();
    assert.equal(ping.metadata?.worker, 'w1');
    for (const subject of [Subjects.adminWorker('w1', 'stats'), Subjects.adminConfig('get')]) {
      const answer = await admin.nc.request(subject, '{}', { timeout: 5_000 });
      assert.equal(answer.headers?.get('Nats-Service-Error-Code') ?? '', '', `${subject} answered without an error`);
    }
  });

  test('cdr-web: only the CDR query', async () => {
    const page = await connectAs('cdr-web');
    const answer = await new CdrClient(page.nc).query({ limit: 10 });
    assert.ok(Array.isArray(answer.records));
    await assertRequestDenied(page, Subjects.adminConfig('get'));
    await assertRequestDenied(page, Subjects.workerStats('w1'));
    await assertRequestDenied(page, '$JS.API.INFO');
    page.nc.publish(Subjects.workerInbound('w1'), new Uint8Array(1));
    await page.violation('publish', Subjects.workerInbound('w1'));
    page.nc.subscribe(Subjects.cdrRecords);
    await page.violation('subscription', Subjects.cdrRecords);
  });

  test('transport: no admin requests, no heartbeats of its own', async () => {
    const transport = await connectAs('transport');
    transport.nc.publish(Subjects.adminConfig('set'), '{}');
    await transport.violation('publish', Subjects.adminConfig('set'));
    // it makes no requests at all: the inbox for their replies is not its to subscribe
    await assert.rejects(transport.nc.request(Subjects.adminConfig('get'), '{}', { timeout: 5_000 }), (err: Error) => {
      assert.ok(err.cause instanceof errors.PermissionViolationError, `expected a permission violation, got ${err.message}`);
      assert.equal(err.cause.operation, 'subscription');
      assert.match(err.cause.subject, /^_INBOX_transport\./);
      return true;
    });
    transport.nc.publish(Subjects.workerHeartbeat, new Uint8Array(1));
    await transport.violation('publish', Subjects.workerHeartbeat);
    transport.nc.publish(Subjects.transportOutbound('t1'), new Uint8Array(1));
    await transport.violation('publish', Subjects.transportOutbound('t1'));
  });

  test('inboxes: each role subscribes to its own prefix only, and requests across roles are still answered', async () => {
    const worker = await connectAs('worker');
    for (const other of ['_INBOX_admin.>', '_INBOX_cdr-web.>', '_INBOX_config-writer.>', '_INBOX.>', '>']) {
      worker.nc.subscribe(other);
      await worker.violation('subscription', other);
    }
    const admin = await connectAs('admin');
    for (const other of ['_INBOX_worker.>', '_INBOX_transport.>', '_INBOX.>']) {
      admin.nc.subscribe(other);
      await admin.violation('subscription', other);
    }
    // a client still on nats.js's shared `_INBOX` prefix is answered nowhere: the reply could be read by anyone
    const shared = await connectAs('cdr-web', '_INBOX');
    await assert.rejects(shared.nc.request(Subjects.cdrQuery, '{}', { timeout: 5_000 }), (err: Error) => {
      assert.ok(err.cause instanceof errors.PermissionViolationError, `expected a permission violation, got ${err.message}`);
      assert.equal(err.cause.operation, 'subscription');
      assert.match(err.cause.subject, /^_INBOX\./);
      return true;
    });
    // across roles: the worker answers into the asker's inbox (allow_responses), never reading it
    const stats = decodeMap((await admin.nc.request(Subjects.workerStats('w1'), '', { timeout: 5_000 })).data) as { workerId: string };
    assert.equal(stats.workerId, 'w1');
    const page = await connectAs('cdr-web');
    assert.ok(Array.isArray((await new CdrClient(page.nc).query({ limit: 1 })).records));
  });

  test('worker: never purges, deletes or edits SB_CDR, nor writes sb-config around the config service', async () => {
    const worker = await connectAs('worker');
    const jsm = await jetstreamManager(worker.nc);
    const stored = (await jsm.streams.info(CDR_STREAM)).state.messages;
    assert.ok(stored > 0, 'the first test\'s call left its record');
    for (const api of ['STREAM.PURGE', 'STREAM.DELETE', 'STREAM.UPDATE']) await assertRequestDenied(worker, `$JS.API.${api}.${CDR_STREAM}`);
    await assertRequestDenied(worker, `$JS.API.STREAM.DELETE.KV_${CONFIG_BUCKET}`);
    await assertRequestDenied(worker, `$JS.API.STREAM.PURGE.KV_${CONFIG_BUCKET}`);
    // nats.js's own purge, as code in the worker would call it: refused as well
    await assert.rejects(jsm.streams.purge(CDR_STREAM));
    assert.equal((await jsm.streams.info(CDR_STREAM)).state.messages, stored, 'not one record lost');

    // sb-config: read, yes; written directly, no (the KV API and a raw publish alike)
    const config = await new Kvm(worker.nc).open(CONFIG_BUCKET);
    const before = await config.get(TRUNKING_KEY);
    assert.ok(before !== null, 'the worker reads the configuration');
    await assert.rejects(config.put(TRUNKING_KEY, '{"trunks":[]}'));
    worker.nc.publish(`$KV.${CONFIG_BUCKET}.${TRUNKING_KEY}`, '{"trunks":[]}');
    await worker.violation('publish', `$KV.${CONFIG_BUCKET}.${TRUNKING_KEY}`);
    assert.equal((await config.get(TRUNKING_KEY))?.revision, before.revision, 'the configuration is unchanged');
    // nor may it make the bucket (a worker that found it gone would seed it with its file)
    await assertRequestDenied(worker, `$JS.API.STREAM.CREATE.KV_${CONFIG_BUCKET}`);
  });

  test('worker: makes its buckets, compare-and-sets and watches them; watches sb-config as the config service writes it', async () => {
    const worker = await connectAs('worker');
    const kvm = new Kvm(worker.nc);
    // sb-limits exists (w1 made it); sb-slots and sb-dialogs are made here, as issue 16's workers will
    for (const bucket of ['sb-limits', 'sb-slots', 'sb-dialogs']) {
      const kv = await kvm.create(bucket, { history: 1 });
      const key = `permissions-test.${Date.now()}`;
      const first = await kv.create(key, 'one');
      const second = await kv.update(key, 'two', first);
      await assert.rejects(kv.update(key, 'stale', first), /wrong last sequence/i, `${bucket}: compare-and-set refuses a stale revision`);
      assert.equal((await kv.get(key))?.string(), 'two', bucket);
      assert.ok(second > first);
      if (bucket !== 'sb-limits') {
        // ordered push consumers (flow control replies on $JS.FC) on the worker's inbox
        const updates = await kv.watch({ key, include: KvWatchInclude.UpdatesOnly });
        await kv.update(key, 'three', second);
        for await (const e of updates) {
          assert.equal(e.string(), 'three', `${bucket}: the watch sees the write`);
          break;
        }
        updates.stop();
      }
      await kv.delete(key);
    }

    // sb-config through the validated config service: written as config-writer, seen by a worker's watch
    const config = await kvm.open(CONFIG_BUCKET);
    const updates = await config.watch({ key: TRUNKING_KEY, include: KvWatchInclude.UpdatesOnly });
    const client = new AdminClient((await connectAs('admin')).nc, 5_000);
    const current = await client.ask<{ revision: number; trunking: unknown }>(Subjects.adminConfig('get'), {});
    const written = await client.ask<{ revision: number }>(Subjects.adminConfig('set'), { trunking: current.trunking, revision: current.revision });
    assert.ok(written.revision > current.revision);
    for await (const e of updates) {
      assert.equal(e.revision, written.revision, 'the watch sees the config service\'s write');
      break;
    }
    updates.stop();
    // a stale revision is still refused by the service (compare-and-set through the writer's connection)
    await assert.rejects(client.ask(Subjects.adminConfig('set'), { trunking: current.trunking, revision: current.revision }), /not the latest/);
  });

  test('edge: workers tell the transport their known sources; they claim nonce counts create-only; no one else speaks for them', async () => {
    const worker = await connectAs('worker');
    const transport = await connectAs('transport');
    const heard = transport.nc.subscribe(Subjects.edgeSources, { max: 1 });
    transport.nc.subscribe(Subjects.edgeAuthenticated);
    await transport.nc.flush();
    worker.nc.publish(Subjects.edgeSources, encodeEdgeSources({ v: 1, networks: ['192.0.2.0/24'], domains: [], revision: 1, worker: 'w9' }));
    worker.nc.publish(Subjects.edgeAuthenticated, new Uint8Array(1));
    for await (const m of heard) assert.deepEqual(decodeEdgeSources(m.data).networks, ['192.0.2.0/24']);
    // sb-nonces (w1 made it): a nonce count is claimed once, a second claim refused
    const nonces = await new Kvm(worker.nc).open(NONCES_BUCKET);
    const key = `permissions-test.${Date.now()}.00000001`;
    await nonces.create(key, new Uint8Array(0));
    await assert.rejects(nonces.create(key, new Uint8Array(0)), /wrong last sequence/i);
    // claims are never purged or deleted in bulk (a KV delete of one key is a publish on its subject:
    // allowed, and harmless, as the claim expects the key never written: engine edge-reporter.test.ts)
    await assertRequestDenied(worker, `$JS.API.STREAM.PURGE.KV_${NONCES_BUCKET}`);
    await assertRequestDenied(worker, `$JS.API.STREAM.MSG.DELETE.KV_${NONCES_BUCKET}`);
    await assertRequestDenied(worker, `$JS.API.STREAM.DELETE.KV_${NONCES_BUCKET}`);
    // a transport or an operator that could publish known sources would open the edge to anyone
    for (const who of [transport, await connectAs('admin')]) {
      who.nc.publish(Subjects.edgeSources, new Uint8Array(1));
      await who.violation('publish', Subjects.edgeSources);
    }
    assert.deepEqual(worker.violations.filter((v) => !v.subject.startsWith(`$JS.API.STREAM.`)), [], 'nothing else refused');
  });

  test('config-writer: writes sb-config and nothing else', async () => {
    const writer = await connectAs('config-writer');
    for (const subject of [Subjects.workerInbound('w1'), Subjects.cdrRecord('acme', 'forged'), `$KV.sb-limits.x`, Subjects.adminConfig('set')]) {
      writer.nc.publish(subject, new Uint8Array(1));
      await writer.violation('publish', subject);
    }
    await assertRequestDenied(writer, `$JS.API.STREAM.PURGE.${CDR_STREAM}`);
    await assertRequestDenied(writer, `$JS.API.STREAM.DELETE.KV_${CONFIG_BUCKET}`);
    await assertRequestDenied(writer, `$JS.API.CONSUMER.CREATE.${CDR_STREAM}`);
    writer.nc.subscribe(Subjects.admin);
    await writer.violation('subscription', Subjects.admin);
  });

  test('transport and CDR page: no JetStream API, no KV, at all', async () => {
    const transport = await connectAs('transport');
    for (const subject of ['$JS.API.INFO', `$JS.API.STREAM.INFO.${CDR_STREAM}`, `$JS.API.DIRECT.GET.KV_${CONFIG_BUCKET}`, `$KV.${CONFIG_BUCKET}.${TRUNKING_KEY}`, 'sb.cdr.rec.acme.forged']) {
      transport.nc.publish(subject, new Uint8Array(1));
      await transport.violation('publish', subject);
    }
    const page = await connectAs('cdr-web');
    for (const subject of [`$JS.API.STREAM.INFO.${CDR_STREAM}`, `$JS.API.CONSUMER.CREATE.${CDR_STREAM}`, `$JS.API.DIRECT.GET.KV_${CONFIG_BUCKET}`]) {
      await assertRequestDenied(page, subject);
    }
    page.nc.publish(`$KV.${CONFIG_BUCKET}.${TRUNKING_KEY}`, '{}');
    await page.violation('publish', `$KV.${CONFIG_BUCKET}.${TRUNKING_KEY}`);
  });

  test('the CLI as admin: services discovery, the workers and the CDR listing', async () => {
    const cli = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI_MAIN, '--server', nats.url, '--user', 'admin', '--password', PASSWORDS.admin, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
    const workers = await cli(['workers', 'ls']);
    assert.equal(workers.code, 0, workers.stderr);
    assert.match(workers.stdout, /^w1 +active /m);
    const records = await cli(['--json', 'cdr', 'ls']);
    assert.equal(records.code, 0, records.stderr);
    for (const args of [['trunks', 'ls'], ['stats']]) {
      const run = await cli(args);
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    }
    assert.doesNotMatch(nats.process.output(), /switchboard-cli".*Violation/, 'the CLI stays within the admin\'s permissions');
  });

  test('after all that, the transport and the worker themselves were still refused nothing', () => {
    // the server names each refused connection (the processes connect as transport-<id>, worker-<id>)
    const refused = nats.process.output().split('\n').filter((l) => /Violation/.test(l) && /:(transport-t1|worker-w1|worker-w1-config)"/.test(l));
    assert.deepEqual(refused, []);
  });

  test('a wrong password, an unknown user and no credentials are refused at connect', async () => {
    const attempts = [
      { user: 'admin', pass: 'not-the-password' },
      { user: 'operator', pass: PASSWORDS.admin },
      {},
    ];
    for (const auth of attempts) {
      await assert.rejects(connect({ servers: nats.url, ...auth, maxReconnectAttempts: 0 }), (err: Error) => {
        assert.ok(err instanceof errors.AuthorizationError, `${JSON.stringify(auth)}: expected an authorization error, got ${err.name}: ${err.message}`);
        return true;
      });
    }
  });
});
