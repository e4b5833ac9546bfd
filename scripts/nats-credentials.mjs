#!/usr/bin/env node
// The local cluster's NATS credentials: one user and a random password per kind of process
// (the users of config/nats-local.conf, whose rules are deploy/nats/permissions.conf), made on
// first use and kept in <data dir>/nats-credentials.json (default .local/, gitignored, mode 0600)
// so that a restarted process or server finds the same ones. scripts/local-cluster.mjs gives
// nats-server the passwords in its environment (NATS_<ROLE>_PASSWORD, as in production) and each
// process its own. To rotate them locally: stop the cluster, delete the file, start it again.
//
//   node scripts/nats-credentials.mjs          every role's user and password, as JSON
//   node scripts/nats-credentials.mjs admin    the admin's password alone, for the CLI:
//   pnpm exec switchboard --user admin --password "$(node scripts/nats-credentials.mjs admin)" calls ls
//
// SWITCHBOARD_DATA_DIR moves the data directory, as it does for ./scripts/start.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The NATS users of a cluster: one per kind of process (packages/wire/src/nats-roles.ts). */
export const NATS_ROLES = ['transport', 'worker', 'config-writer', 'admin', 'cdr-web'];

/** The variable nats-server reads a role's password from (deploy/nats/nats-server.conf). */
export const passwordVariable = (role) => `NATS_${role.toUpperCase().replaceAll('-', '_')}_PASSWORD`;

export const credentialsFile = (dataDir) => join(dataDir, 'nats-credentials.json');

const startsWithLetter = (password) => /^[A-Za-z]/.test(password);

/** The credentials kept in `dataDir`, with any role that has none yet given a new random password. */
export function localNatsCredentials(dataDir) {
  const file = credentialsFile(dataDir);
  const kept = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  let changed = false;
  for (const role of NATS_ROLES) {
    if (typeof kept[role]?.password === 'string' && startsWithLetter(kept[role].password)) continue;
    // 144 random bits, in characters that need no quoting in a shell, a URL or nats-server's
    // configuration, after a letter: nats-server reads a `$VARIABLE` as a value of its own
    // configuration language, and one starting with a digit (or '-') as a malformed number — it
    // refused to start on 1 password in ~5 (seen in CI)
    kept[role] = { user: role, password: `p${randomBytes(18).toString('base64url')}` };
    changed = true;
  }
  if (changed) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(kept, null, 2)}\n`, { mode: 0o600 });
  }
  return kept;
}

/** nats-server's environment: every role's password under the name its configuration reads. */
export function natsServerEnv(credentials) {
  return Object.fromEntries(NATS_ROLES.map((role) => [passwordVariable(role), credentials[role].password]));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const credentials = localNatsCredentials(process.env.SWITCHBOARD_DATA_DIR ?? '.local');
  const role = process.argv[2];
  if (role === undefined) {
    process.stdout.write(`${JSON.stringify(credentials, null, 2)}\n`);
  } else if (NATS_ROLES.includes(role)) {
    process.stdout.write(`${credentials[role].password}\n`);
  } else {
    process.stderr.write(`usage: node scripts/nats-credentials.mjs [${NATS_ROLES.join('|')}]\n`);
    process.exit(2);
  }
}
