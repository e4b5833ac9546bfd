#!/usr/bin/env node
// switchboard-transport-advertise [file]: the transport DaemonSet's init container. Asks the
// Kubernetes API for this pod's node (NODE_NAME, from the downward API), chooses the address the
// transport advertises (node-advertise.ts: the annotation switchboard.io/public-address, the
// node's ExternalIP, else HOST_IP) and writes it to `file` (default SWITCHBOARD_ADVERTISE_FILE),
// on the emptyDir the transport container reads it from. Authenticates with the pod's
// service-account token (RBAC: `get` on nodes, nothing else). Retries a few times, then exits 1:
// the pod does not start rather than advertise an address nobody chose.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { pino } from 'pino';
import { advertiseFromNode, type NodeObject } from './node-advertise.js';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const ATTEMPTS = 5;
const RETRY_MS = 2_000;
const TIMEOUT_MS = 5_000;

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim() ?? '';
  if (value === '') throw new Error(`${name} is not set`);
  return value;
}

/** GET /api/v1/nodes/<name> over the in-cluster API address, with the service account's token and CA. */
function getNode(env: NodeJS.ProcessEnv, name: string): Promise<NodeObject> {
  const dir = env.SWITCHBOARD_SERVICEACCOUNT_DIR?.trim() || SERVICE_ACCOUNT_DIR;
  const token = readFileSync(join(dir, 'token'), 'utf8').trim();
  const ca = readFileSync(join(dir, 'ca.crt'));
  return new Promise((resolve, reject) => {
    const req = request({
      host: required(env, 'KUBERNETES_SERVICE_HOST'),
      port: Number(env.KUBERNETES_SERVICE_PORT ?? 443),
      path: `/api/v1/nodes/${encodeURIComponent(name)}`,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      ca,
      timeout: TIMEOUT_MS,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) reject(new Error(`GET /api/v1/nodes/${name}: ${res.statusCode} ${body.slice(0, 300)}`));
        else {
          try {
            resolve(JSON.parse(body) as NodeObject);
          } catch (err) {
            reject(err as Error);
          }
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const log = pino({ base: { service: 'transport-advertise' } });
  const env = process.env;
  const file = process.argv[2] ?? required(env, 'SWITCHBOARD_ADVERTISE_FILE');
  const name = required(env, 'NODE_NAME');
  const hostIP = required(env, 'HOST_IP');
  for (let attempt = 1; ; attempt++) {
    try {
      const chosen = advertiseFromNode(await getNode(env, name), hostIP);
      // whole or not at all: the transport never reads half an address
      writeFileSync(`${file}.tmp`, `${chosen.address}\n`);
      renameSync(`${file}.tmp`, file);
      log.info({ event: 'advertise-resolved', node: name, ...chosen }, `node ${name}: advertising ${chosen.address} (${chosen.source})`);
      return;
    } catch (err) {
      const message = (err as Error).message;
      // a bad annotation does not mend by waiting; the API being away may
      if (attempt >= ATTEMPTS || /annotation|hostIP/.test(message)) {
        log.fatal({ event: 'advertise-failed', node: name, err: message }, `cannot choose the address to advertise: ${message}`);
        process.exit(1);
      }
      log.warn({ event: 'advertise-retry', node: name, attempt, err: message }, `asking the Kubernetes API again: ${message}`);
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`switchboard-transport-advertise: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
