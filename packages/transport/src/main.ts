#!/usr/bin/env node
// switchboard-transport --config <file>: runs one transport node until SIGTERM/SIGINT.
import { loadConfigOrExit } from '@switchboard/config';
import { serveHealth } from '@switchboard/health';
import { startTelemetry } from '@switchboard/telemetry';
import { pino } from 'pino';
import { loadTransportConfig } from './transport-config.js';
import { TransportNode } from './transport-node.js';
import { connectTransport, warnGuessedAdvertisements } from './transport-process.js';


/** A stop that waits on NATS (draining the connection) gives up after this: the process must exit. */
const STOP_TIMEOUT_MS = 5_000;
async function main(): Promise<void> {
  const config = loadConfigOrExit('switchboard-transport', (file) => loadTransportConfig(file));
  const log = pino({ level: config.log.level, base: { service: 'transport', node: config.transport.id } });
  // before the node is made (it picks its tracer then): off unless OTEL_EXPORTER_OTLP_ENDPOINT is set
  const telemetry = await startTelemetry({ serviceName: 'switchboard-transport', nodeId: config.transport.id });
  if (telemetry.enabled) log.info({ event: 'tracing', endpoint: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT }, 'traces exported over OTLP');
  warnGuessedAdvertisements(config, log);
  let link: { up: boolean } | undefined;
  let started = false;
  let stopping = false;
  // open before NATS is: a node waiting for NATS is live (not restarted in a loop), only unready
  const health = await serveHealth(config.health, {
    readiness: [
      () => (started ? undefined : 'starting'),
      () => (stopping ? 'draining' : undefined),
      () => (link === undefined || link.up ? undefined : 'nats disconnected'),
    ],
  });
  if (health !== undefined) log.info({ event: 'health-listening', ...health.address }, `health endpoints on ${health.address.host}:${health.address.port}`);
  const nc = await connectTransport(config);
  const node = new TransportNode(config, nc, log);
  link = node.link;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'stopping', signal }, 'transport node stopping');
    // NATS may be gone already (the whole cluster stopping): the node still exits
    await Promise.race([
      node.stop().catch((err: unknown) => log.warn({ event: 'stop-incomplete', err: (err as Error).message }, 'stopped without NATS')),
      new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS).unref()),
    ]);
    await telemetry.shutdown(); // bounded: a collector that is gone costs at most a second
    await health?.server.close();
    log.info({ event: 'stopped' }, 'transport node stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  try {
    await node.start();
  } catch (err) {
    log.fatal({ err }, 'cannot start: listener failed');
    await nc.close();
    process.exit(1);
  }
  started = true;
  log.info({ event: 'listening', listeners: node.listeners(), nats: config.nats.servers }, 'transport node listening');

}

main().catch((err: unknown) => {
  process.stderr.write(`switchboard-transport: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
