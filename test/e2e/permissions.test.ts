// NATS accounts and permissions end to end (issue 9): a real nats-server running the
// production rules of deploy/nats/ (nats-server.conf and its permissions.conf), a transport
// and a worker connected as their users. A call still goes through; then client connections
// as each user show what the server refuses (a "Permissions Violation", which nats.js reports
// as a PermissionViolationError on the connection's status, or as the cause of a request's
// rejection) and what it lets through.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { errors, type NatsConnection, type PermissionViolationError } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { CdrClient } from '@switchboard/cdr';
import { startNatsServer, UserAgent, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { decodeMap, Subjects, WORKER_SERVICE } from '@switchboard/wire';
import { oneCarrierTrunking, startTransport, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

type NatsUser = 'transport' | 'worker' | 'admin' | 'cdr-web';

const PASSWORDS: Record<NatsUser, string> = {
  transport: 'transport-test-password',
  worker: 'worker-test-password',
  admin: 'admin-test-password',
  'cdr-web': 'cdr-web-test-password',
};
/** The variables deploy/nats/nats-server.conf reads the passwords from. */
const PASSWORD_VARIABLES: Record<NatsUser, string> = {
  transport: 'NATS_TRANSPORT_PASSWORD',
  worker: 'NATS_WORKER_PASSWORD',
  admin: 'NATS_ADMIN_PASSWORD',
  'cdr-web': 'NATS_CDR_WEB_PASSWORD',
};

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

  async function connectAs(user: NatsUser): Promise<Client> {
    const nc = await connect({ servers: nats.url, user, pass: PASSWORDS[user], name: `permissions-test-${user}`, maxReconnectAttempts: 0 });
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
    w1 = await startWorker('w1', file, nats.url, userEnv('worker'));
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
      assert.match(err.cause.subject, /^_INBOX\./);
      return true;
    });
    transport.nc.publish(Subjects.workerHeartbeat, new Uint8Array(1));
    await transport.violation('publish', Subjects.workerHeartbeat);
    transport.nc.publish(Subjects.transportOutbound('t1'), new Uint8Array(1));
    await transport.violation('publish', Subjects.transportOutbound('t1'));
  });

  test('after all that, the transport and the worker themselves were still refused nothing', () => {
    // the server names each refused connection (the processes connect as transport-<id>, worker-<id>)
    const refused = nats.process.output().split('\n').filter((l) => /Violation/.test(l) && /:(transport-t1|worker-w1)"/.test(l));
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
