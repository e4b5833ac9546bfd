import { request } from 'node:http';
import { isDrainMode, type DrainMode } from './worker-drain.js';

export const PRESTOP_USAGE = `usage: switchboard-worker-prestop [slow|handover] [--port <n>]
  slow       wait for the calls to end (up to worker.drainTimeoutMs)
  handover   give the calls to other workers
  (neither)  handover where the worker offers it, else slow
  --port     the worker's health port (default: SWITCHBOARD_HEALTH_PORT)
`;

export type PrestopArgs = { ok: true; port: number; mode: DrainMode | undefined } | { ok: false; message: string };

export function parsePrestopArgs(argv: readonly string[], env: NodeJS.ProcessEnv): PrestopArgs {
  let portText = env.SWITCHBOARD_HEALTH_PORT?.trim() ?? '';
  let mode: DrainMode | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--port') portText = argv[++i] ?? '';
    else if (isDrainMode(arg)) mode = arg;
    else return { ok: false, message: `unknown argument ${JSON.stringify(arg)}` };
  }
  if (portText === '') return { ok: false, message: 'no health port: set SWITCHBOARD_HEALTH_PORT (as the worker has it) or pass --port' };
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) return { ok: false, message: `not a port: ${JSON.stringify(portText)}` };
  return { ok: true, port, mode };
}

/**
 * POST /drain to the worker on this machine; resolves with its answer when the drain is over.
 * node:http rather than fetch: fetch gives up on an answer slower than 5 minutes, and a drain
 * may be longer (worker.drainTimeoutMs; the pod's grace period is the bound).
 */
export function requestDrain(port: number, mode: DrainMode): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/drain?mode=${mode}` }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
