import { dirname, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { loadConfigOrExit } from '@switchboard/config';
import type { TrunkingConfig } from '@switchboard/trunking';
import { natsInboxPrefix } from '@switchboard/wire';
import { loadTrunkingConfig } from './load-trunking-config.js';
import { loadWorkerConfig, type WorkerConfig } from './worker-config.js';

/** What a worker process starts from: its configuration, and the trunking file beside it (paths resolved). */
export interface WorkerFiles {
  config: WorkerConfig;
  trunking: TrunkingConfig;
  trunkingFile: string;
  cdrSpoolDir: string;
}

/** Reads `--config <file>` and its trunking file; bad configuration stops the process naming the field and the file. */
export function loadWorkerFiles(program: string): WorkerFiles {
  let configFile = '';
  const config = loadConfigOrExit(program, (file) => loadWorkerConfig((configFile = file)));
  const trunkingFile = resolve(dirname(configFile), config.trunking.file);
  const trunking = loadConfigOrExit(program, () => loadTrunkingConfig(trunkingFile));
  return { config, trunking, trunkingFile, cdrSpoolDir: resolve(dirname(configFile), config.cdr.spoolDir) };
}

/** A worker's NATS connections: its own, and the config service's writer when configured (README "Security"). */
export async function connectWorker(config: WorkerConfig): Promise<{ nc: NatsConnection; configWriterNc: NatsConnection | undefined }> {
  // a restarted server is answered ≤ ~0.5 s after it is back (the default wait is 2 s); the jitter
  // keeps a cluster's workers from reconnecting in one burst; never give up: the link holds SIP meanwhile
  const reconnect = { maxReconnectAttempts: -1, reconnectTimeWait: 250, reconnectJitter: 250, waitOnFirstConnect: true };
  // noAsyncTraces: nats.js otherwise makes an Error (a stack capture) up front for every request
  // and subscription timeout — ~3 % of a worker's CPU under load (issue 17); our logs name the
  // request that failed without its stack
  const nc = await connect({
    servers: config.nats.servers, name: `worker-${config.worker.id}`, user: config.nats.user, pass: config.nats.pass,
    inboxPrefix: natsInboxPrefix('worker'), ...reconnect, noAsyncTraces: true,
  });
  // the validated config service writes sb-config as a user of its own, which nothing else in the worker holds a connection of
  const writer = config.nats.configWriter;
  const configWriterNc = writer === undefined ? undefined : await connect({
    servers: config.nats.servers, name: `worker-${config.worker.id}-config`, user: writer.user, pass: writer.pass,
    inboxPrefix: natsInboxPrefix('config-writer'), ...reconnect,
  });
  return { nc, configWriterNc };
}
