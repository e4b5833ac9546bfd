#!/usr/bin/env node
// switchboard-cdr-web [--listen host:port]: serves the CDR page until SIGTERM or SIGINT.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { CdrClient, CdrQueryError } from '@switchboard/cdr';
import { ConnectionWatch, serveHealth } from '@switchboard/health';
import { natsInboxPrefix } from '@switchboard/wire';
import { pino } from 'pino';
import { CdrWebServer, type CdrSource } from './cdr-web-server.js';
import { parseCdrWebOptions, USAGE } from './cdr-web-options.js';

async function main(): Promise<void> {
  const parsed = parseCdrWebOptions(process.argv.slice(2), process.env);
  if (!parsed.ok) {
    process.stderr.write(`switchboard-cdr-web: ${parsed.message}\n${USAGE}`);
    process.exit(parsed.help ? 0 : 2);
  }
  const options = parsed.options;
  const log = pino({ level: options.logLevel, base: { service: 'cdr-web' } });

  // The page is served from the start: until NATS first answers, it says the query is
  // unavailable (503) rather than leaving the port closed.
  let client: CdrClient | undefined;
  const source: CdrSource = {
    query: (query) => client === undefined
      ? Promise.reject(new CdrQueryError('unavailable', `not connected to NATS (${options.natsServers.join(', ')}) yet`))
      : client.query(query),
  };
  const web = new CdrWebServer({ source, log });
  let nc: NatsConnection | undefined;
  let nats: ConnectionWatch | undefined;
  let stopping = false;
  const health = await serveHealth(options.health, {
    readiness: [
      // the page answers before NATS does, but only with 503s: not ready until its first connection
      () => (nats === undefined ? 'starting' : undefined),
      () => (stopping ? 'draining' : undefined),
      () => (nats === undefined || nats.up ? undefined : 'nats disconnected'),
    ],
  });
  if (health !== undefined) log.info({ event: 'health-listening', ...health.address }, `health endpoints on ${health.address.host}:${health.address.port}`);
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'stopping', signal }, 'stopping');
    await web.close();
    await nc?.close();
    await health?.server.close();
    log.info({ event: 'stopped' }, 'cdr-web stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const url = await web.listen(options.port, options.host);
  log.info({ event: 'listening', url }, `CDR page at ${url}`);

  nc = await connect({
    servers: options.natsServers, name: 'cdr-web', user: options.natsUser, pass: options.natsPass,
    inboxPrefix: natsInboxPrefix('cdr-web'),
    maxReconnectAttempts: -1, waitOnFirstConnect: true,
  });
  client = new CdrClient(nc);
  nats = new ConnectionWatch(nc);
  log.info({ event: 'nats-connected', server: nc.getServer() }, 'connected to NATS');
  for await (const s of nc.status()) log.info({ event: 'nats', type: s.type }, `NATS ${s.type}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`switchboard-cdr-web: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
