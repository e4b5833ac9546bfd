#!/usr/bin/env node
// The local cluster's NATS credentials: one user and a random password per process (the users of
// config/nats-local.conf, each with its role's rules from deploy/nats/permissions.conf), made on
// first use and kept in <data dir>/nats-credentials.json (default .local/, gitignored, mode 0600)
// so that a restarted process or server finds the same ones. scripts/local-cluster.mjs gives
// nats-server the passwords in its environment (NATS_<USER>_PASSWORD) and each process its own:
// a leaked or rotated password is one process's, not every worker's. (In Kubernetes the replicas
// of a Deployment share one Secret, so there it is one user per role: README "Security".)
// To rotate them locally: stop the cluster, delete the file (or one user's entry), start it again.
//
//   node scripts/nats-credentials.mjs          every process's user, role and password, as JSON
//   node scripts/nats-credentials.mjs admin    one user's password alone, e.g. the admin's for the CLI:
//   pnpm exec switchboard --user admin --password "$(node scripts/nats-credentials.mjs admin)" calls ls
//
// SWITCHBOARD_DATA_DIR moves the data directory, as it does for ./scripts/start.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The processes of the local cluster, each a NATS user of its own with its role's permissions
 * (packages/wire/src/nats-roles.ts): two workers, each with its config service's connection,
 * the transport node, the CDR page and the operator's CLI. config/nats-local.conf lists the same.
 */
export const LOCAL_NATS_USERS = [
  { user: 'w1', role: 'worker' },
  { user: 'w2', role: 'worker' },
  { user: 'w1-config', role: 'config-writer' },
  { user: 'w2-config', role: 'config-writer' },
  { user: 'transport', role: 'transport' },
  { user: 'cdr-web', role: 'cdr-web' },
  { user: 'admin', role: 'admin' },
];

/** The variable nats-server reads a user's password from (config/nats-local.conf). */
export const passwordVariable = (user) => `NATS_${user.toUpperCase().replaceAll('-', '_')}_PASSWORD`;

export const credentialsFile = (dataDir) => join(dataDir, 'nats-credentials.json');

const startsWithLetter = (password) => /^[A-Za-z]/.test(password);

/**
 * The credentials kept in `dataDir` by user, with any user that has none yet given a new random
 * password; entries of users the cluster no longer has (an older file's one per role) are dropped.
 */
export function localNatsCredentials(dataDir) {
  const file = credentialsFile(dataDir);
  const kept = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const credentials = {};
  let changed = Object.keys(kept).some((user) => !LOCAL_NATS_USERS.some((u) => u.user === user));
  for (const { user, role } of LOCAL_NATS_USERS) {
    const password = kept[user]?.password;
    if (typeof password === 'string' && startsWithLetter(password) && kept[user].role === role) {
      credentials[user] = { user, role, password };
      continue;
    }
    // 144 random bits, in characters that need no quoting in a shell, a URL or nats-server's
    // configuration, after a letter: nats-server reads a `$VARIABLE` as a value of its own
    // configuration language, and one starting with a digit (or '-') as a malformed number — it
    // refused to start on 1 password in ~5 (seen in CI)
    credentials[user] = { user, role, password: `p${randomBytes(18).toString('base64url')}` };
    changed = true;
  }
  if (changed) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  }
  // writeFileSync's mode applies only to a file it creates: one made by hand, by an older
  // version or a copy keeps its own, so the passwords' file is made owner-only on every use
  chmodSync(file, 0o600);
  return credentials;
}

/** nats-server's environment: every user's password under the name its configuration reads. */
export function natsServerEnv(credentials) {
  return Object.fromEntries(LOCAL_NATS_USERS.map(({ user }) => [passwordVariable(user), credentials[user].password]));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const credentials = localNatsCredentials(process.env.SWITCHBOARD_DATA_DIR ?? '.local');
  const user = process.argv[2];
  if (user === undefined) {
    process.stdout.write(`${JSON.stringify(credentials, null, 2)}\n`);
  } else if (Object.hasOwn(credentials, user)) {
    process.stdout.write(`${credentials[user].password}\n`);
  } else {
    process.stderr.write(`usage: node scripts/nats-credentials.mjs [${LOCAL_NATS_USERS.map((u) => u.user).join('|')}]\n`);
    process.exit(2);
  }
}
