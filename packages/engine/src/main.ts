#!/usr/bin/env node
// switchboard-worker --config <file>: runs one worker until SIGTERM (drain, then exit) or SIGINT.
import { connect } from '@nats-io/transport-node';
import { dirname, resolve } from 'node:path';
import { loadConfigOrExit } from '@switchboard/config';
import { ConnectionWatch, serveHealth } from '@switchboard/health';
import { startTelemetry } from '@switchboard/telemetry';
import { loadTrunkingConfig } from './worker/load-trunking-config.js';
import { natsInboxPrefix } from '@switchboard/wire';
import { pino } from 'pino';
import { loadWorkerConfig } from './worker/worker-config.js';
import { ENGINE_VERSION, WorkerNode } from './worker/worker-node.js';
import { drainRoute, WorkerDrain } from './worker/worker-drain.js';


/** A stop that waits on NATS (draining the connection) gives up after this: the process must exit. */
const STOP_TIMEOUT_MS = 5_000;
async function main(): Promise<void> {
  let configFile = '';
  const config = loadConfigOrExit('switchboard-worker', (file) => loadWorkerConfig((configFile = file)));
  const trunkingFile = resolve(dirname(configFile), config.trunking.file);
  const trunking = loadConfigOrExit('switchboard-worker', () => loadTrunkingConfig(trunkingFile));
  const log = pino({ level: config.log.level, base: { service: 'worker', worker: config.worker.id } });
  // before the node is made (it picks its tracer then): off unless OTEL_EXPORTER_OTLP_ENDPOINT is set
  const telemetry = await startTelemetry({ serviceName: 'switchboard-worker', serviceVersion: ENGINE_VERSION, nodeId: config.worker.id });
  if (telemetry.enabled) log.info({ event: 'tracing', endpoint: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT }, 'traces exported over OTLP');
  let node: WorkerNode | undefined;
  let drains: WorkerDrain | undefined;
  let nats: ConnectionWatch | undefined;
  let started = false;
  // open before NATS is: a worker waiting for NATS is live (not restarted in a loop), only unready
  const health = await serveHealth(config.health, {
    readiness: [
      () => (started ? undefined : 'starting'),
      // an operator's drain (switchboard workers drain) too: the router is what refuses new calls
      () => (node?.router.draining === true ? 'draining' : undefined),
      () => (nats === undefined || nats.up ? undefined : 'nats disconnected'),
    ],
    routes: [drainRoute(() => drains, () => node?.calls ?? 0)],
  });
  if (health !== undefined) log.info({ event: 'health-listening', ...health.address }, `health endpoints on ${health.address.host}:${health.address.port}`);
  // a restarted server is answered ≤ ~0.5 s after it is back (the default wait is 2 s); the jitter
  // keeps a cluster's workers from reconnecting in one burst; never give up: the link holds SIP meanwhile
  const reconnect = { maxReconnectAttempts: -1, reconnectTimeWait: 250, reconnectJitter: 250, waitOnFirstConnect: true };
  // noAsyncTraces: nats.js otherwise makes an Error (a stack capture) up front for every request
  // and subscription timeout — ~3 % of a worker's CPU under load (issue 17); our logs name the
  // request that failed without its stack
  const hotPath = { noAsyncTraces: true };
  const nc = await connect({
    servers: config.nats.servers, name: `worker-${config.worker.id}`, user: config.nats.user, pass: config.nats.pass,
    inboxPrefix: natsInboxPrefix('worker'), ...reconnect, ...hotPath,
  });
  nats = new ConnectionWatch(nc);
  // the validated config service writes sb-config as a user of its own, which nothing else in the worker holds a connection of
  const writer = config.nats.configWriter;
  const configWriterNc = writer === undefined ? undefined : await connect({
    servers: config.nats.servers, name: `worker-${config.worker.id}-config`, user: writer.user, pass: writer.pass,
    inboxPrefix: natsInboxPrefix('config-writer'), ...reconnect,
  });
  const worker = new WorkerNode(config, nc, log, trunking, resolve(dirname(configFile), config.cdr.spoolDir), trunkingFile, configWriterNc);
  node = worker;
  const drain = new WorkerDrain(worker);
  drains = drain;
  let stopping = false;
  const stop = async (graceful: boolean) => {
    if (stopping) return;
    stopping = true;
    // after a preStop's POST /drain, the same drain: over already
    if (graceful) await drain.run(config.worker.drain.mode)?.done;
    // NATS may be gone already (the whole cluster stopping): the worker still exits; unconfirmed records stay in its spool
    await Promise.race([
      worker.stop().catch((err: unknown) => log.warn({ event: 'stop-incomplete', err: (err as Error).message }, 'stopped without NATS')),
      new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS).unref()),
    ]);
    await telemetry.shutdown(); // bounded: a collector that is gone costs at most a second
    await health?.server.close();
    log.info({ event: 'stopped' }, 'worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop(true));
  process.on('SIGINT', () => void stop(false));
  await worker.start();
  started = true;
  log.info({ event: 'ready', trunks: trunking.trunks.length, carriers: trunking.carriers.length }, 'worker ready');
}

main().catch((err: unknown) => {
  process.stderr.write(`switchboard-worker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
