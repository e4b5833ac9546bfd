#!/usr/bin/env node
// switchboard-worker-prestop [slow|handover] [--port <n>]: the worker pod's preStop hook. Asks the
// worker on this machine to drain (POST /drain on its health listener, SWITCHBOARD_HEALTH_PORT) and
// exits 0 once the drain is over, so the pod stays up, unready, until its calls are gone.
import { requestDrain, PRESTOP_USAGE, parsePrestopArgs } from './worker/prestop-request.js';

async function main(): Promise<void> {
  const parsed = parsePrestopArgs(process.argv.slice(2), process.env);
  if (!parsed.ok) {
    process.stderr.write(`switchboard-worker-prestop: ${parsed.message}\n${PRESTOP_USAGE}`);
    process.exit(2);
  }
  const { port, mode } = parsed;
  // no mode named: hand the calls over where this worker can, else the slow drain
  let answer = await requestDrain(port, mode ?? 'handover');
  if (mode === undefined && answer.status === 501) answer = await requestDrain(port, 'slow');
  if (answer.status !== 200) {
    process.stderr.write(`switchboard-worker-prestop: the worker refused the drain: ${answer.status} ${answer.body}\n`);
    process.exit(1);
  }
  process.stdout.write(`switchboard-worker-prestop: ${answer.body}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`switchboard-worker-prestop: cannot reach the worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
