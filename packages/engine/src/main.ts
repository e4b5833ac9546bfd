#!/usr/bin/env node
// switchboard-worker --config <file>: runs one worker until SIGTERM (drain, then exit) or SIGINT.
import { connect } from '@nats-io/transport-node';
import { dirname, resolve } from 'node:path';
import { loadConfigOrExit } from '@switchboard/config';
import { loadTrunkingConfig } from '@switchboard/trunking';
import { pino } from 'pino';
import { loadWorkerConfig } from './worker/worker-config.js';
import { WorkerNode } from './worker/worker-node.js';

async function main(): Promise<void> {
  let configFile = '';
  const config = loadConfigOrExit('switchboard-worker', (file) => loadWorkerConfig((configFile = file)));
  const trunking = loadConfigOrExit('switchboard-worker', () => loadTrunkingConfig(resolve(dirname(configFile), config.trunking.file)));
  const log = pino({ level: config.log.level, base: { service: 'worker', worker: config.worker.id } });
  const nc = await connect({
    servers: config.nats.servers, name: `worker-${config.worker.id}`, user: config.nats.user, pass: config.nats.pass,
    maxReconnectAttempts: -1, waitOnFirstConnect: true,
  });
  const node = new WorkerNode(config, nc, log, trunking, resolve(dirname(configFile), config.cdr.spoolDir));
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
  log.info({ event: 'ready', trunks: trunking.trunks.length, carriers: trunking.carriers.length }, 'worker ready');
}

main().catch((err: unknown) => {
  process.stderr.write(`switchboard-worker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
