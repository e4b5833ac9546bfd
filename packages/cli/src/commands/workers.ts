// switchboard workers ls | drain: the live workers (found by NATS services discovery) and
// taking one out of service.
import type { WorkerStats } from '@switchboard/admin/client';
import type { Command } from 'commander';
import { failureOf, withAdmin } from '../admin-connection.js';
import type { CliContext } from '../cli-context.js';
import { CliError } from '../exit-codes.js';
import { globalsOf } from '../global-options.js';
import { formatJson } from '../output/json.js';
import { parseWorkerId } from '../option-values.js';
import { answered, askEveryWorker, missingAnswers } from './every-worker.js';
import { formatDrain, formatWorkerStatsJson, formatWorkerTable } from './workers-format.js';

const LIST_HELP = `
The workers that answer service discovery ($SRV.PING.switchboard-worker), each with its state
(active, draining), its calls in progress, uptime, version, and calls started per second over
the last minute (CPS). A worker found but not answering is listed as "no answer" and the exit
code is 3. --json prints one JSON array: each worker's stats as \`stats --json\` does.`;

const DRAIN_HELP = `
The worker takes no new calls from now on (the transport sends them to the others) and reports
"draining". --handover: its calls in progress are handed to the other workers (they go on there),
and its process can be stopped in seconds. --slow: its calls go on where they are until they end:
stop its process once \`workers ls\` shows it with 0 calls. Neither: the worker's worker.drain.mode.
--json prints {"worker", "state"}. Exit code 2 when there is no such live worker.`;

export function registerWorkerCommands(program: Command, ctx: CliContext): void {
  const workers = program.command('workers').description('the live workers: list them, drain one');

  workers
    .command('ls')
    .alias('list')
    .description('list the live workers with their state, calls, uptime and version')
    .addHelpText('after', LIST_HELP)
    .action(async (_options: unknown, command: Command) => {
      const answers = await withAdmin(command, (client, _nc, live) => askEveryWorker(live, (w) => client.stats(w)));
      ctx.io.out(globalsOf(command).json === true ? formatWorkerStatsJson(answered<WorkerStats>(answers)) : formatWorkerTable(answers));
      const missing = missingAnswers(answers);
      if (missing !== undefined) throw missing;
    });

  workers
    .command('drain')
    .description('stop giving a worker new calls; its calls in progress continue')
    .argument('<id>', 'the worker, as `workers ls` prints it', parseWorkerId)
    .option('--handover', 'hand its calls to the other workers (it can stop in seconds)')
    .option('--slow', 'let its calls end where they are')
    .addHelpText('after', DRAIN_HELP)
    .action(async (id: string, options: { handover?: boolean; slow?: boolean }, command: Command) => {
      if (options.handover === true && options.slow === true) throw new CliError('usage', '--handover and --slow exclude each other');
      const mode = options.handover === true ? 'handover' : options.slow === true ? 'slow' : undefined;
      const answer = await withAdmin(command, async (client, _nc, live) => {
        // asked through discovery first: a worker that is not live is "not found", not "no answer"
        const [only] = await askEveryWorker(live, (w) => client.drain(w, mode), id);
        if (only === undefined) throw new CliError('internal', `${id}: no answer`);
        if (!only.ok) throw new CliError(failureOf(only.code), `${id}: ${only.message}`);
        return only.value;
      });
      ctx.io.out(globalsOf(command).json === true ? formatJson({ worker: id, ...answer }) : formatDrain(id, answer));
    });
}
