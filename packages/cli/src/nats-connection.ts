import { readFile } from 'node:fs/promises';
import { credsAuthenticator, type NatsConnection } from '@nats-io/nats-core';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import { natsInboxPrefix } from '@switchboard/wire';
import { CliError } from './exit-codes.js';
import type { NatsTarget } from './global-options.js';

/**
 * Connects, runs `work`, and closes again whatever happens. A CLI must never hang: the connect
 * is bounded and never retried, and the close is bounded too.
 */
export async function withNats<T>(target: NatsTarget, work: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const options: NodeConnectionOptions = {
    servers: target.servers,
    timeout: target.timeoutMs,
    maxReconnectAttempts: 0,
    name: 'switchboard-cli',
    // the operator's role: its user may read only these inboxes (deploy/nats/permissions.conf)
    inboxPrefix: natsInboxPrefix('admin'),
  };
  switch (target.auth.kind) {
    case 'none':
      break;
    case 'user':
      options.user = target.auth.user;
      if (target.auth.pass !== undefined) options.pass = target.auth.pass;
      break;
    case 'creds':
      options.authenticator = credsAuthenticator(await readCreds(target.auth.file));
      break;
  }
  let nc: NatsConnection;
  try {
    nc = await connect(options);
  } catch (error) {
    throw new CliError('unavailable', `cannot connect to NATS at ${target.servers.join(', ')}: ${(error as Error).message}`);
  }
  try {
    return await work(nc);
  } finally {
    await closeWithin(nc, target.timeoutMs);
  }
}

async function readCreds(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new CliError('usage', `--creds: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

async function closeWithin(nc: NatsConnection, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  try {
    await Promise.race([nc.close().catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
