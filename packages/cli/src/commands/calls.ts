// switchboard calls ls | show | hangup | transfer: the calls in progress, asked of the workers
// over the admin API (sb.admin.worker.<id>.calls.*).
import type { CallSummary } from '@switchboard/admin/client';
import { CALL_ID_PATTERN } from '@switchboard/wire';
import { InvalidArgumentError, type Command } from 'commander';
import { withAdmin } from '../admin-connection.js';
import { notice, type CliContext } from '../cli-context.js';
import { CliError } from '../exit-codes.js';
import { globalsOf } from '../global-options.js';
import { formatJson } from '../output/json.js';
import { parseWorkerId } from '../option-values.js';
import { formatCallDetail, formatCallListJson, formatCallTable, formatHangup, formatTransferStarted } from './calls-format.js';
import { answered, askEveryWorker, missingAnswers } from './every-worker.js';

interface CallListOptions {
  trunk?: string;
  worker?: string;
  state?: string;
}

const LIST_HELP = `
Calls in progress on every live worker (or one), oldest first. STATE is the call's: admitting,
routing, early (ringing), answered, confirmed (ACK seen), relaying (its other half is on another
worker), ending. DIR is orig (a carrier to the trunk) or term (the trunk to a carrier); STARTED
and ANSWERED are local times; AGE is the time since the call started; XFERS its transfers.
--json prints one JSON array of the calls as the workers describe them.
A worker that does not answer is named on stderr, and the exit code is then 3 (the others' calls
are printed all the same).

Examples:
  switchboard calls ls
  switchboard calls ls --trunk acme --state confirmed
  switchboard calls ls --worker w1 --json`;

const SHOW_HELP = `
Prints the call's fields, its legs (each with its dialog's state and the peer's address) and its
transfers. --json prints the call as the worker describes it. Exit code 2 when no worker has
the call.`;

const HANGUP_HELP = `
Ends the call: each leg gets a BYE (or a CANCEL / an error response while it is still being set
up). --json prints {"id", "worker"}. Exit code 2 when no worker has the call.`;

const TRANSFER_HELP = `
Transfers the call's remote party to <target>, as a REFER from the customer would (the same
checks: the trunk's transfer mode, its restrictions): a number is dialled on the call's trunk
(a PSTN transfer, billable), a sip: URI on another domain is a SIP transfer. The customer's leg
is released when the target answers.
Prints the transfer's id and kind; --json prints {"id", "worker", "transfer", "kind"}.
Exit code 4 when the call refuses the transfer (e.g. the trunk's transfer mode forbids it),
2 when no worker has the call.

Examples:
  switchboard calls transfer 3f9a01bc77d04e12 +14155552000
  switchboard calls transfer 3f9a01bc77d04e12 sip:desk@partner.example`;

export function registerCallCommands(program: Command, ctx: CliContext): void {
  const calls = program.command('calls').description('calls in progress: list, show, hang up, transfer');

  calls
    .command('ls')
    .alias('list')
    .description('list the calls in progress')
    .option('--trunk <trunk>', "only this customer trunk's calls")
    .option('--worker <worker>', "only this worker's calls", parseWorkerId)
    .option('--state <state>', 'only calls in this state (e.g. confirmed, early)')
    .addHelpText('after', LIST_HELP)
    .action(async (options: CallListOptions, command: Command) => {
      const filter = await listFilter(options);
      const answers = await withAdmin(command, (client, _nc, live) => askEveryWorker(live, (w) => client.listCalls(filter, w), options.worker));
      const found: CallSummary[] = answered(answers).flat();
      if (globalsOf(command).json === true) ctx.io.out(formatCallListJson(found));
      else if (found.length > 0) ctx.io.out(formatCallTable(found, ctx.now()));
      else ctx.io.err(notice('no calls in progress matched'));
      const missing = missingAnswers(answers);
      if (missing !== undefined) throw missing;
    });

  calls
    .command('show')
    .description('show one call: its fields, legs and transfers')
    .argument('<id>', 'the call, as `calls ls` prints it (16 hex digits)', parseCallId)
    .addHelpText('after', SHOW_HELP)
    .action(async (id: string, _options: unknown, command: Command) => {
      const call = await withAdmin(command, (client) => client.showCall(id));
      ctx.io.out(globalsOf(command).json === true ? formatJson(call) : formatCallDetail(call, ctx.now()));
    });

  calls
    .command('hangup')
    .description('end a call: BYE to each of its legs')
    .argument('<id>', 'the call (16 hex digits)', parseCallId)
    .addHelpText('after', HANGUP_HELP)
    .action(async (id: string, _options: unknown, command: Command) => {
      const answer = await withAdmin(command, (client) => client.hangup(id));
      ctx.io.out(globalsOf(command).json === true ? formatJson(answer) : formatHangup(answer));
    });

  calls
    .command('transfer')
    .description("transfer a call's remote party to a number or a SIP URI")
    .argument('<id>', 'the call (16 hex digits)', parseCallId)
    .argument('<target>', 'a number (+14155552000, dialled on the trunk) or a sip:, sips: or tel: URI', parseTransferTarget)
    .addHelpText('after', TRANSFER_HELP)
    .action(async (id: string, target: string, _options: unknown, command: Command) => {
      const answer = await withAdmin(command, (client) => client.transfer(id, target));
      ctx.io.out(globalsOf(command).json === true ? formatJson(answer) : formatTransferStarted(answer));
    });
}

/**
 * The filter of `calls ls`, checked by the workers' own schema so a bad value names its option.
 * The schemas (zod) are loaded only when there is a filter to check: `calls ls` alone does without.
 */
export async function listFilter(options: CallListOptions): Promise<{ trunk?: string; state?: string }> {
  const filter: { trunk?: string; state?: string } = {};
  if (options.trunk !== undefined) filter.trunk = options.trunk;
  if (options.state !== undefined) filter.state = options.state;
  if (Object.keys(filter).length === 0) return filter;
  const { AdminRequests } = await import('@switchboard/admin');
  const parsed = AdminRequests['calls.list'].safeParse(filter);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError('usage', `--${String(issue?.path[0] ?? 'filter')}: ${issue?.message ?? 'invalid'}`);
  }
  return filter;
}

/** A call id as the workers check it (16 hex digits): their schema's pattern, without loading the schemas. */
export function parseCallId(text: string): string {
  if (!CALL_ID_PATTERN.test(text)) throw new InvalidArgumentError('Expected a call id (16 hex digits, as `calls ls` prints it).');
  return text;
}

/** A transfer target: a number (digits, an optional leading +) or a sip:, sips: or tel: URI. */
export function parseTransferTarget(text: string): string {
  const target = text.trim();
  const ok = target.length <= 512 && (/^\+?\d{1,32}$/.test(target) || /^(sips?|tel):\S+$/i.test(target));
  if (!ok) throw new InvalidArgumentError('Expected a number (+14155552000) or a sip:, sips: or tel: URI.');
  return target;
}
