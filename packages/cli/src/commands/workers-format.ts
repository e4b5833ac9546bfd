// How the workers look on a terminal and in JSON. Pure, like every *-format file.
import type { WorkerStats } from '@switchboard/admin/client';
import { formatJson } from '../output/json.js';
import { formatTable, type Column } from '../output/table.js';
import { formatDuration } from '../output/time.js';
import type { WorkerAnswer } from './every-worker.js';

export const WORKER_COLUMNS: readonly Column[] = [
  { header: 'ID' },
  { header: 'STATE' },
  { header: 'CALLS', align: 'right' },
  { header: 'UPTIME', align: 'right' },
  { header: 'VERSION' },
  { header: 'CPS', align: 'right' },
];

/** `workers ls`: one row per worker by id; a worker that did not answer is listed as such. */
export function formatWorkerTable(answers: readonly WorkerAnswer<WorkerStats>[]): string {
  const rows = [...answers]
    .sort((a, b) => a.worker.localeCompare(b.worker))
    .map((a) => (a.ok
      ? [a.worker, a.value.state, String(a.value.calls), formatDuration(a.value.uptimeMs / 1000), a.value.version, formatRate(a.value.callsPerSecond)]
      : [a.worker, 'no answer', '-', '-', '-', '-']));
  return formatTable(WORKER_COLUMNS, rows);
}

/** `workers ls --json` and `stats --json`: the workers' stats as they sent them, by id. */
export function formatWorkerStatsJson(stats: readonly WorkerStats[]): string {
  return formatJson([...stats].sort((a, b) => a.workerId.localeCompare(b.workerId)));
}

/** `workers drain`: the worker takes no new calls from now on; it stops once its calls have ended. */
export function formatDrain(worker: string, answer: { state: string }): string {
  return `worker ${worker}: ${answer.state} (no new calls; its calls in progress continue)\n`;
}

/** A rate to two decimals at most, without trailing zeros: `0.25`, `3`, `12.5`. */
export function formatRate(perSecond: number): string {
  return Number.isFinite(perSecond) ? String(Math.round(perSecond * 100) / 100) : '-';
}
