#!/usr/bin/env node
// switchboard-edge-worker --config <file>: a transport node and a worker in one process, the
// co-located layout of a small machine (README "Process layout"). The SIP between the two is
// handed over in the process (LocalBus) and the node gives its worker the new dialogs while it
// is active and the process has room (transport.edgeWorker.spillAboveLoad); heartbeats, limits,
// snapshots, records, operations and every other worker's and transport's traffic go over NATS
// as in the separate layout. SIGTERM: the worker drains (worker.drain.mode), then the transport
// node stops; SIGINT: both stop at once.
import type { MsgHdrs } from '@nats-io/transport-node';
import { loadConfigOrExit } from '@switchboard/config';
import { connectWorker, drainRoute, ENGINE_VERSION, loadWorkerFiles, WorkerDrain, WorkerNode } from '@switchboard/engine';
import { ConnectionWatch, serveHealth } from '@switchboard/health';
import { startTelemetry } from '@switchboard/telemetry';
import { connectTransport, loadTransportConfig, TransportNode, warnGuessedAdvertisements } from '@switchboard/transport';
import { LocalBus } from '@switchboard/wire';
import { pino } from 'pino';
import { EventLoopLoad, LoadThreshold } from './event-loop-load.js';

const PROGRAM = 'switchboard-edge-worker';
/** Each stop that waits on NATS (draining a connection) gives up after this: the process must exit. */
const STOP_TIMEOUT_MS = 5_000;

/**
 * The transport half connects as a NATS user of its own (the transport role's permissions, README
 * "NATS accounts and permissions"): SWITCHBOARD_EDGE_NATS_USER and SWITCHBOARD_EDGE_NATS_PASS,
 * when set, are its SWITCHBOARD_NATS_USER and SWITCHBOARD_NATS_PASS; unset, both halves share the worker's.
 */
function edgeEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { SWITCHBOARD_EDGE_NATS_USER: user, SWITCHBOARD_EDGE_NATS_PASS: pass } = env;
  return { ...env, ...(user === undefined ? {} : { SWITCHBOARD_NATS_USER: user }), ...(pass === undefined ? {} : { SWITCHBOARD_NATS_PASS: pass }) };
}

async function main(): Promise<void> {
  const { config, trunking, trunkingFile, cdrSpoolDir } = loadWorkerFiles(PROGRAM);
  const edge = loadConfigOrExit(PROGRAM, (file) => loadTransportConfig(file, edgeEnv(process.env)));
  // the two keep their own logs: the same events and fields as in processes of their own
  const workerLog = pino({ level: config.log.level, base: { service: 'worker', worker: config.worker.id } });
  const edgeLog = pino({ level: edge.log.level, base: { service: 'transport', node: edge.transport.id } });
  // before the nodes are made (they pick their tracer then): off unless OTEL_EXPORTER_OTLP_ENDPOINT is set
  const telemetry = await startTelemetry({ serviceName: PROGRAM, serviceVersion: ENGINE_VERSION, nodeId: `${edge.transport.id}-${config.worker.id}` });
  if (telemetry.enabled) workerLog.info({ event: 'tracing', endpoint: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT }, 'traces exported over OTLP');
  warnGuessedAdvertisements(edge, edgeLog);
  let worker: WorkerNode | undefined;
  let transport: TransportNode | undefined;
  let drains: WorkerDrain | undefined;
  let workerNats: ConnectionWatch | undefined;
  let started = false;
  let stopping = false;
  const health = await serveHealth(config.health, {
    readiness: [
      () => (started ? undefined : 'starting'),
      () => (stopping || worker?.router.draining === true ? 'draining' : undefined),
      () => ((workerNats === undefined || workerNats.up) && (transport === undefined || transport.link.up) ? undefined : 'nats disconnected'),
    ],
    routes: [drainRoute(() => drains, () => worker?.calls ?? 0)],
  });
  if (health !== undefined) workerLog.info({ event: 'health-listening', ...health.address }, `health endpoints on ${health.address.host}:${health.address.port}`);

  const bus = new LocalBus<MsgHdrs>();
  const edgeNc = await connectTransport(edge);
  // past this share of the shared event loop, new calls also go to the other workers (transport.edgeWorker); 1: never, nothing to sample
  const { spillAboveLoad } = edge.transport.edgeWorker;
  const load = spillAboveLoad < 1 ? new EventLoopLoad(new LoadThreshold(spillAboveLoad)) : undefined;
  transport = new TransportNode(edge, edgeNc, edgeLog, { workerId: config.worker.id, bus, busy: () => load?.busy === true });
  const { nc, configWriterNc } = await connectWorker(config);
  workerNats = new ConnectionWatch(nc);
  worker = new WorkerNode(config, nc, workerLog, trunking, cdrSpoolDir, trunkingFile, configWriterNc, bus);
  const drain = new WorkerDrain(worker);
  drains = drain;
  const bounded = (what: Promise<void>, log: typeof workerLog) => Promise.race([
    what.catch((err: unknown) => log.warn({ event: 'stop-incomplete', err: (err as Error).message }, 'stopped without NATS')),
    new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS).unref()),
  ]);
  const stop = async (graceful: boolean) => {
    if (stopping) return;
    stopping = true;
    edgeLog.info({ event: 'stopping', signal: graceful ? 'SIGTERM' : 'SIGINT' }, 'transport node stopping after its worker');
    // the node carries the drain's last SIP (a handover's, or the calls ending), so it stops last
    if (graceful) await drain.run(config.worker.drain.mode)?.done;
    load?.close();
    await bounded(worker!.stop(), workerLog);
    workerLog.info({ event: 'stopped' }, 'worker stopped');
    await bounded(transport!.stop(), edgeLog);
    await telemetry.shutdown(); // bounded: a collector that is gone costs at most a second
    await health?.server.close();
    edgeLog.info({ event: 'stopped' }, 'transport node stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop(true));
  process.on('SIGINT', () => void stop(false));
  try {
    await transport.start();
  } catch (err) {
    edgeLog.fatal({ err }, 'cannot start: listener failed');
    process.exit(1);
  }
  edgeLog.info({ event: 'listening', listeners: transport.listeners(), nats: edge.nats.servers, colocatedWorker: config.worker.id }, 'transport node listening');
  await worker.start();
  started = true;
  workerLog.info({ event: 'ready', trunks: trunking.trunks.length, carriers: trunking.carriers.length, colocatedWith: edge.transport.id }, 'worker ready');
}

main().catch((err: unknown) => {
  process.stderr.write(`${PROGRAM}: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
