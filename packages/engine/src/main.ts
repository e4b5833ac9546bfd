#!/usr/bin/env node
// switchboard-worker --config <file>: runs one worker until SIGTERM (drain, then exit) or SIGINT.
import { ConnectionWatch, serveHealth } from '@switchboard/health';
import { startTelemetry } from '@switchboard/telemetry';
import { pino } from 'pino';
import { ENGINE_VERSION, WorkerNode } from './worker/worker-node.js';
import { drainRoute, WorkerDrain } from './worker/worker-drain.js';
import { connectWorker, loadWorkerFiles } from './worker/worker-process.js';


/** A stop that waits on NATS (draining the connection) gives up after this: the process must exit. */
const STOP_TIMEOUT_MS = 5_000;
async function main(): Promise<void> {
  const { config, trunking, trunkingFile, cdrSpoolDir } = loadWorkerFiles('switchboard-worker');
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
  const { nc, configWriterNc } = await connectWorker(config);
  nats = new ConnectionWatch(nc);
  const worker = new WorkerNode(config, nc, log, trunking, cdrSpoolDir, trunkingFile, configWriterNc);
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
