// Probing a process's health listener (README "Health endpoints") as an orchestrator would.
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProbeAnswer {
  status: number;
  body: string;
}

export async function probe(port: number, path: '/livez' | '/readyz'): Promise<ProbeAnswer> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.text()).trim() };
}

/** Probes every 100 ms until the answer is `status` (and `body`, when given); fails after `timeoutMs` naming the last answer. */
export async function probeUntil(port: number, path: '/livez' | '/readyz', status: number, body?: string, timeoutMs = 10_000): Promise<ProbeAnswer> {
  const deadline = Date.now() + timeoutMs;
  let last: ProbeAnswer | string = 'no answer';
  while (Date.now() < deadline) {
    try {
      last = await probe(port, path);
      if (last.status === status && (body === undefined || last.body === body)) return last;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  throw new Error(`${path} on port ${port}: expected ${status}${body === undefined ? '' : ` ${body}`} within ${timeoutMs} ms; last: ${typeof last === 'string' ? last : `${last.status} ${last.body}`}`);
}
