// switchboard stats [--watch [interval]]: the cluster's figures, summed and per worker, from
// each worker's stats endpoint (sb.admin.worker.<id>.stats).
import type { NatsConnection } from '@nats-io/nats-core';
import type { AdminClient, WorkerStats } from '@switchboard/admin/client';
import type { Command } from 'commander';
import { withAdmin, type LiveWorkerIds } from '../admin-connection.js';
import { notice, type CliContext } from '../cli-context.js';
import { CliError } from '../exit-codes.js';
import { globalsOf } from '../global-options.js';
import { parseInterval } from '../option-values.js';
import { answered, askEveryWorker, missingAnswers, type WorkerAnswer } from './every-worker.js';
import { formatStats, formatWatchHeading } from './stats-format.js';
import { formatWorkerStatsJson } from './workers-format.js';

export const DEFAULT_WATCH_MS = 2_000;

/** Clears a terminal and puts the cursor home (ECMA-48 ED and CUP). */
const CLEAR_SCREEN = '\x1b[2J\x1b[H';

const HELP = `
Rows: calls per second (over the last minute), calls started, calls in progress (by state),
responses sent by class (400, 403 and 503 on their own), calls refused (by cause), transfers
started and answered (by kind: pstn, sip), calls in progress per trunk. Columns: the cluster's
total, then each worker. Counts are since each worker started.
--watch prints them again every interval (default 2s; seconds or a duration: 5, 500ms, 1m) on
one connection, until Ctrl-C (exit 0); a round that fails is reported on stderr and the watch
goes on. --json prints the workers' stats as one JSON array, once (--watch is then ignored).
A worker that does not answer is named on stderr, and the exit code is 3.

Examples:
  switchboard stats
  switchboard stats --watch 5
  switchboard stats --json | jq '.[].counters'`;

export function registerStatsCommand(program: Command, ctx: CliContext): void {
  program
    .command('stats')
    .description("the cluster's figures: calls, responses, refusals, transfers, per worker and trunk")
    .option('--watch [interval]', `print again every interval (default ${DEFAULT_WATCH_MS / 1000}s) until Ctrl-C`, parseInterval)
    .addHelpText('after', HELP)
    .action(async (options: { watch?: number | true }, command: Command) => {
      const json = globalsOf(command).json === true;
      if (json && options.watch !== undefined) ctx.io.err(notice('--watch: ignored with --json (printed once)'));
      await withAdmin(command, async (client, nc, live) => {
        if (json || options.watch === undefined) {
          const answers = await askStats(client, live);
          ctx.io.out(json ? formatWorkerStatsJson(answered(answers)) : formatStats(answered(answers)));
          const missing = missingAnswers(answers);
          if (missing !== undefined) throw missing;
          return;
        }
        await watch(client, nc, live, options.watch === true ? DEFAULT_WATCH_MS : options.watch, ctx);
      });
    });
}

function askStats(client: AdminClient, live: LiveWorkerIds): Promise<WorkerAnswer<WorkerStats>[]> {
  return askEveryWorker(live, (w) => client.stats(w));
}

/** Rounds of stats on one connection until the operator interrupts (or the connection is lost). */
async function watch(client: AdminClient, nc: NatsConnection, live: LiveWorkerIds, intervalMs: number, ctx: CliContext): Promise<void> {
  const stop = new AbortController();
  const release = ctx.onInterrupt?.(() => stop.abort()) ?? (() => undefined);
  const stopped = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  try {
    while (!stop.signal.aborted) {
      const started = ctx.now();
      // settled either way: a round still out when the operator interrupts is left to the closing connection
      const round = askStats(client, live).then((a) => ({ a }), (error: unknown) => ({ error }));
      const answers = await Promise.race([round, stopped.then(() => undefined)]);
      if (answers === undefined) break;
      if (nc.isClosed()) throw new CliError('unavailable', 'the NATS connection was lost');
      if ('error' in answers) {
        ctx.io.err(notice(answers.error instanceof Error ? answers.error.message : String(answers.error)));
      } else {
        const text = formatWatchHeading(started, intervalMs) + formatStats(answered(answers.a));
        ctx.io.out(ctx.terminal === true ? CLEAR_SCREEN + text : `${text}\n`);
        const missing = missingAnswers(answers.a);
        if (missing !== undefined) ctx.io.err(notice(missing.message));
      }
      await Promise.race([new Promise((resolve) => setTimeout(resolve, intervalMs).unref()), stopped]);
    }
  } finally {
    release();
  }
}
