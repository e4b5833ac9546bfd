#!/usr/bin/env node
// switchboard-worker --config <file>: runs one worker until SIGTERM (drain, then exit) or SIGINT.
import { connect } from '@nats-io/transport-node';
import { loadConfigOrExit } from '@switchboard/config';
import { pino } from 'pino';
import { loadWorkerConfig } from './worker/worker-config.js';
import { WorkerNode } from './worker/worker-node.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit('switchboard-worker', (file) => loadWorkerConfig(file));
  const log = pino({ level: config.log.level, base: { service: 'worker', worker: config.worker.id } });
  const nc = await connect({
    servers: config.nats.servers, name: `worker-${config.worker.id}`, user: config.nats.user, pass: config.nats.pass,
    maxReconnectAttempts: -1, waitOnFirstConnect: true,
  });
  const node = new WorkerNode(config, nc, log);
  let stopping = false;
  const stop = async (drain: boolean) => {
    if (stopping) return;
    stopping = true;
    if (drain) await node.drain();
    await node.stop();
    log.info({ event: 'stopped' }, 'worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop(true));
  process.on('SIGINT', () => void stop(false));
  await node.start();
  log.info({ event: 'ready', nextHop: config.worker.nextHop }, 'worker ready');
}

main().catch((err: unknown) => {
  process.stderr.write(`switchboard-worker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
