// Listings (calls, workers, stats) ask every live worker: one that does not answer must not
// hide what the others said, nor pass unnoticed.
import { AdminCallError, AdminErrors } from '@switchboard/admin/client';
import { WORKER_SERVICE } from '@switchboard/wire';
import { failureOf, type LiveWorkerIds } from '../admin-connection.js';
import { CliError } from '../exit-codes.js';

/** One worker's answer, or why it gave none. */
export type WorkerAnswer<T> = { worker: string; ok: true; value: T } | { worker: string; ok: false; code: number; message: string };

/**
 * Asks each live worker (or only `only`, which must be live) with `ask`. No live worker at all is
 * `unavailable`: an empty listing would read as an idle cluster.
 */
export async function askEveryWorker<T>(liveWorkers: LiveWorkerIds, ask: (worker: string) => Promise<T>, only?: string): Promise<WorkerAnswer<T>[]> {
  const live = await liveWorkers();
  if (live.length === 0) throw new CliError('unavailable', `no worker answered discovery ($SRV.PING.${WORKER_SERVICE}): is the cluster running?`);
  if (only !== undefined && !live.includes(only)) throw new CliError('not-found', `no worker ${only} (live: ${live.join(', ')})`);
  const ids = only === undefined ? live : [only];
  const settled = await Promise.allSettled(ids.map((id) => ask(id)));
  return settled.map((s, i): WorkerAnswer<T> => {
    const worker = ids[i] ?? '';
    if (s.status === 'fulfilled') return { worker, ok: true, value: s.value };
    const error = s.reason as Error;
    return { worker, ok: false, code: error instanceof AdminCallError ? error.code : AdminErrors.internal, message: error.message };
  });
}

export function answered<T>(answers: readonly WorkerAnswer<T>[]): T[] {
  return answers.flatMap((a) => (a.ok ? [a.value] : []));
}

/** The error to end with when some worker did not answer (printed after what the others said), else undefined. */
export function missingAnswers(answers: readonly WorkerAnswer<unknown>[]): CliError | undefined {
  const failed = answers.flatMap((a) => (a.ok ? [] : [a]));
  const first = failed[0];
  if (first === undefined) return undefined;
  const list = failed.map((a) => `${a.worker} (${a.message})`).join('; ');
  return new CliError(failureOf(first.code), `incomplete: ${failed.length} of ${answers.length} worker(s) did not answer: ${list}`);
}
