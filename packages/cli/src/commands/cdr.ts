// switchboard cdr ls | show: call detail records, asked of the workers over NATS (sb.cdr.query).
import {
  CdrClient, CdrQueryError, CdrQuerySchema, CDR_QUERY_DEFAULT_LIMIT, CDR_QUERY_MAX_LIMIT,
  type CdrQuery, type CdrQueryErrorCode,
} from '@switchboard/cdr';
import type { Command } from 'commander';
import { notice, type CliContext } from '../cli-context.js';
import { CliError, type Failure } from '../exit-codes.js';
import { globalsOf, natsTargetOf } from '../global-options.js';
import { withNats } from '../nats-connection.js';
import { integerIn, parseTimeSpec, resolveTimeSpec, type TimeSpec } from '../option-values.js';
import { formatCdrDetail, formatCdrListJson, formatCdrShowJson, formatCdrTable, inTreeOrder } from './cdr-format.js';

interface CdrListOptions {
  trunk?: string;
  since?: TimeSpec;
  until?: TimeSpec;
  call?: string;
  limit?: number;
}

const LIST_HELP = `
Records are those of calls that ended in the window, oldest first; a referred call's record
follows the record it was referred from, indented one level ("  └ ").
Columns: DIR is orig (a carrier to the trunk) or term (the trunk to a carrier); DURATION is
start to end, BILLED the billable seconds (answer to end, rounded up; 0 when not billable).
--json prints one JSON array, the records in the same order, each with its fields and "depth"
(0 for a call, 1 for a call referred from it, ...).

Examples:
  switchboard cdr ls --since 1h --trunk acme
  switchboard cdr ls --since 2025-01-31T09:00 --until 2025-01-31T10:00 --json
  switchboard cdr ls --call 3f9a01bc77d04e12

Exit code 2 when --call names a call with no records (an empty window is not an error: exit 0).`;

const SHOW_HELP = `
Prints every field of the record, then every record of its call as a tree, * marking this one.
--json prints {"record": {...}, "chain": [...]}, the chain as \`cdr ls --json\` prints records.
Exit code 2 when there is no such record.`;

export function registerCdrCommands(program: Command, ctx: CliContext): void {
  const cdr = program.command('cdr').description('call detail records: list them, show one with its call chain');

  cdr
    .command('ls')
    .alias('list')
    .description('list call detail records, referred calls under the call they came from')
    .option('--trunk <trunk>', "only this customer trunk's records")
    .option('--since <when>', 'calls that ended at or after: a duration ago (90s, 15m, 1h, 7d) or a time (2025-01-31T14:00)', parseTimeSpec)
    .option('--until <when>', 'calls that ended at or before: a duration ago or a time', parseTimeSpec)
    .option('--call <callId>', "one call's records (16 hex digits, the start of a record id)")
    .option('--limit <n>', `the latest n records at most (default ${CDR_QUERY_DEFAULT_LIMIT})`, integerIn(1, CDR_QUERY_MAX_LIMIT))
    .addHelpText('after', LIST_HELP)
    .action(async (options: CdrListOptions, command: Command) => {
      const query = listQuery(options, ctx.now());
      const { records, truncated } = await askCdr(command, (client) => client.query(query));
      const placed = inTreeOrder(records);
      // one call asked for by its id is a lookup, like `cdr show`: none is "not found" (exit 2), where an empty window is just empty
      if (query.callId !== undefined && placed.length === 0) throw new CliError('not-found', `no records of call ${query.callId}`);
      if (globalsOf(command).json === true) ctx.io.out(formatCdrListJson(placed));
      else if (placed.length > 0) ctx.io.out(formatCdrTable(placed));
      else ctx.io.err(notice('no records matched'));
      if (truncated) {
        ctx.io.err(notice(`more records matched than the ${query.limit ?? CDR_QUERY_DEFAULT_LIMIT} shown (the older ones are left out): narrow with --since/--until/--trunk or raise --limit (at most ${CDR_QUERY_MAX_LIMIT})`));
      }
    });

  cdr
    .command('show')
    .description('show one record and the chain of its call')
    .argument('<recordId>', 'the record, <call id>-<n> as `cdr ls` prints it')
    .addHelpText('after', SHOW_HELP)
    .action(async (recordId: string, _options: unknown, command: Command) => {
      checkQuery({ recordId });
      const chain = await askCdr(command, (client) => client.chain(recordId));
      const record = chain?.find((r) => r.id === recordId);
      if (chain === undefined || record === undefined) throw new CliError('not-found', `no record ${recordId}`);
      const placed = inTreeOrder(chain);
      ctx.io.out(globalsOf(command).json === true ? formatCdrShowJson(record, placed) : formatCdrDetail(record, placed));
    });
}

/** The query of `cdr ls`, checked here by the workers' own schema so a bad value names its option. */
export function listQuery(options: CdrListOptions, now: number): CdrQuery {
  const query: CdrQuery = {};
  if (options.since !== undefined) query.since = resolveTimeSpec(options.since, now);
  if (options.until !== undefined) query.until = resolveTimeSpec(options.until, now);
  if (options.trunk !== undefined) query.trunk = options.trunk;
  if (options.call !== undefined) query.callId = options.call;
  if (options.limit !== undefined) query.limit = options.limit;
  if (query.since !== undefined && query.until !== undefined && query.until < query.since) {
    throw new CliError('usage', '--until: earlier than --since');
  }
  checkQuery(query);
  return query;
}

const OPTION_OF: Readonly<Record<keyof CdrQuery, string>> = {
  since: '--since',
  until: '--until',
  trunk: '--trunk',
  callId: '--call',
  recordId: 'record id',
  limit: '--limit',
};

function checkQuery(query: CdrQuery): void {
  const parsed = CdrQuerySchema.safeParse(query);
  if (parsed.success) return;
  const issue = parsed.error.issues[0];
  const key = issue?.path[0];
  const name = typeof key === 'string' && key in OPTION_OF ? OPTION_OF[key as keyof CdrQuery] : 'query';
  throw new CliError('usage', `${name}: ${issue?.message ?? 'invalid'}`);
}

const FAILURE_OF: Readonly<Record<CdrQueryErrorCode, Failure>> = {
  'bad-request': 'refused',
  unavailable: 'unavailable',
  internal: 'internal',
};

async function askCdr<T>(command: Command, work: (client: CdrClient) => Promise<T>): Promise<T> {
  const target = natsTargetOf(command);
  try {
    return await withNats(target, (nc) => work(new CdrClient(nc, target.timeoutMs)));
  } catch (error) {
    if (!(error instanceof CdrQueryError)) throw error;
    const prefix = error.code === 'bad-request' ? 'the cluster refused the query: ' : '';
    throw new CliError(FAILURE_OF[error.code], prefix + error.message);
  }
}
