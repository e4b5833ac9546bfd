// One NATS credential per local process (issue 19 part 3): scripts/nats-credentials.mjs makes a
// user and password for each process of the local cluster, and config/nats-local.conf (the
// production permissions.conf included) lets each in with its role's rules and no other's
// password. A real nats-server runs the committed file with the passwords the script made.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { errors, type NatsConnection, type PermissionViolationError } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { natsInboxPrefix, type NatsRole } from '@switchboard/wire';
import { repoRoot } from '../support/paths.js';

interface LocalUser { user: string; role: NatsRole }
interface Credentials { [user: string]: { user: string; role: NatsRole; password: string } }
interface Script {
  LOCAL_NATS_USERS: LocalUser[];
  localNatsCredentials(dataDir: string): Credentials;
  natsServerEnv(credentials: Credentials): Record<string, string>;
}

const script = (await import(pathToFileURL(join(repoRoot, 'scripts/nats-credentials.mjs')).href)) as Script;

/** config/nats-local.conf as the test server runs it: the passwords defined in the file, the permissions inlined. */
function localConfig(credentials: Credentials): string {
  const text = readFileSync(join(repoRoot, 'config/nats-local.conf'), 'utf8');
  const include = 'include "../deploy/nats/permissions.conf"';
  assert.ok(text.includes(include), `config/nats-local.conf: expected ${include}`);
  const permissions = readFileSync(join(repoRoot, 'deploy/nats/permissions.conf'), 'utf8');
  const passwords = Object.entries(script.natsServerEnv(credentials)).map(([variable, password]) => `${variable}: "${password}"`);
  return `${passwords.join('\n')}\n${text.replace(include, () => permissions)}`;
}

describe('local cluster: a NATS user per process, with its role\'s permissions', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-local-users-'));
  let credentials: Credentials;
  let nats: NatsServerHandle;
  const clients: NatsConnection[] = [];

  before(async () => {
    // a file of the per-role days: its users are dropped, every process gets its own
    writeFileSync(join(dataDir, 'nats-credentials.json'), JSON.stringify({ worker: { user: 'worker', password: 'pOld' } }));
    credentials = script.localNatsCredentials(dataDir);
    nats = await startNatsServer({ config: localConfig(credentials) });
  });

  after(async () => {
    for (const nc of clients) await nc.close().catch(() => undefined);
    await nats?.stop();
  });

  test('the script and config/nats-local.conf name the same users: each process of the cluster, two workers each with a config writer', () => {
    const users = script.LOCAL_NATS_USERS.map((u) => u.user);
    assert.deepEqual(users, ['w1', 'w2', 'w1-config', 'w2-config', 'transport', 'cdr-web', 'admin']);
    const configured = [...readFileSync(join(repoRoot, 'config/nats-local.conf'), 'utf8').matchAll(/^\s*\{ user: ([\w-]+),/gm)].map((m) => m[1]);
    assert.deepEqual(configured, users);
    assert.deepEqual(Object.keys(credentials), users, 'the old per-role entry is gone');
    const passwords = new Set(Object.values(credentials).map((c) => c.password));
    assert.equal(passwords.size, users.length, 'no two processes share a password');
    for (const { password } of Object.values(credentials)) assert.match(password, /^[A-Za-z]/, 'nats-server reads a $VARIABLE starting with a digit as a number');
    assert.deepEqual(script.localNatsCredentials(dataDir), credentials, 'kept across starts');
  });

  test('the credentials file is owner-only (0600), also when it was there before with a laxer mode', () => {
    const file = join(dataDir, 'nats-credentials.json');
    assert.equal(statSync(file).mode & 0o777, 0o600, 'rewritten from the per-role file, made with the default mode');
    chmodSync(file, 0o644);
    script.localNatsCredentials(dataDir);
    assert.equal(statSync(file).mode & 0o777, 0o600, 'kept, not rewritten: still made owner-only');
  });

  test('each user connects with its own password, and with no other process\'s', async () => {
    for (const { user } of script.LOCAL_NATS_USERS) {
      const nc = await connect({ servers: nats.url, user, pass: credentials[user]?.password, maxReconnectAttempts: 0 });
      clients.push(nc);
    }
    for (const [user, other] of [['w2', 'w1'], ['w1-config', 'w1'], ['admin', 'cdr-web'], ['w1', 'transport']] as const) {
      await assert.rejects(connect({ servers: nats.url, user, pass: credentials[other]?.password, maxReconnectAttempts: 0 }), errors.AuthorizationError, `${user} with ${other}'s password`);
    }
  });

  test('each user has its role\'s permissions: its role\'s inbox (the transport makes no requests: none), a worker\'s SIP subject for workers only', async () => {
    for (const { user, role } of script.LOCAL_NATS_USERS) {
      const nc = await connect({ servers: nats.url, user, pass: credentials[user]?.password, maxReconnectAttempts: 0, inboxPrefix: natsInboxPrefix(role) });
      clients.push(nc);
      const violations: PermissionViolationError[] = [];
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'error' && s.error instanceof errors.PermissionViolationError) violations.push(s.error);
      })();
      nc.subscribe(`${natsInboxPrefix(role)}.probe`);
      nc.subscribe('sb.sip.worker.w1');
      // the server answers a subscription it refuses with an -ERR before the flush's PONG; its status event may come a moment later
      await nc.flush();
      const expected = [...(role === 'transport' ? [`${natsInboxPrefix(role)}.probe`] : []), ...(role === 'worker' ? [] : ['sb.sip.worker.w1'])];
      for (let i = 0; i < 100 && violations.length < expected.length; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(violations.map((v) => v.subject), expected, `${user} (${role})`);
    }
  });
});
