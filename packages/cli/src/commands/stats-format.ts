// How the cluster's figures look on a terminal: one table, a row per figure, a column for the
// cluster's total and one per worker. Pure, like every *-format file.
import type { WorkerStats } from '@switchboard/admin/client';
import { formatTable, type Column } from '../output/table.js';
import { formatDuration, formatLocalTime } from '../output/time.js';
import { formatRate } from './workers-format.js';

/** A call's states in the order a call goes through them; a state not listed here follows, by name. */
const STATE_ORDER = ['admitting', 'routing', 'early', 'answered', 'confirmed', 'relaying', 'ending', 'ended'];

const RESPONSE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', '6xx'] as const;
/** The statuses counted one by one (WorkerNode.countResponse), under their class. */
const COUNTED_STATUSES: Readonly<Record<string, readonly number[]>> = { '4xx': [400, 403], '5xx': [503] };
const TRANSFER_KINDS = ['pstn', 'sip'] as const;

type Row = string[];

/**
 * `stats`: calls per second, calls started and active (by state), responses sent by class
 * (400, 403 and 503 on their own), refused calls by cause, transfers by kind, and active calls
 * by trunk. Counters count since each worker started; a counter a worker never touched is 0.
 */
export function formatStats(stats: readonly WorkerStats[]): string {
  const workers = [...stats].sort((a, b) => a.workerId.localeCompare(b.workerId));
  const columns: Column[] = [{ header: 'METRIC' }, { header: 'TOTAL', align: 'right' }, ...workers.map((w) => ({ header: w.workerId, align: 'right' as const }))];
  const counts = (label: string, of: (w: WorkerStats) => number): Row => [label, String(sum(workers, of)), ...workers.map((w) => String(of(w)))];
  const counter = (name: string) => (w: WorkerStats) => w.counters[name] ?? 0;
  const rows: Row[] = [
    ['state', '', ...workers.map((w) => w.state)],
    ['uptime', '', ...workers.map((w) => formatDuration(w.uptimeMs / 1000))],
    ['calls/s', formatRate(sum(workers, (w) => w.callsPerSecond)), ...workers.map((w) => formatRate(w.callsPerSecond))],
    counts('calls started', counter('calls.started')),
    counts('calls active', (w) => w.calls),
    ...byState(workers).map((state) => counts(`  ${state}`, (w) => w.callsByState[state] ?? 0)),
    ['responses sent'],
    ...RESPONSE_CLASSES.flatMap((c) => [
      counts(`  ${c}`, counter(`responses.${c}`)),
      ...(COUNTED_STATUSES[c] ?? []).map((status) => counts(`    ${status}`, counter(`responses.${status}`))),
    ]),
    counts('refused', (w) => sum(keysWith(w.counters, 'refused.'), (k) => w.counters[`refused.${k}`] ?? 0)),
    ...union(workers, (w) => keysWith(w.counters, 'refused.')).map((cause) => counts(`  ${cause}`, counter(`refused.${cause}`))),
    ...(['started', 'answered'] as const).flatMap((stage) => [
      counts(`transfers ${stage}`, (w) => sum(TRANSFER_KINDS, (kind) => counter(`transfer.${stage}.${kind}`)(w))),
      ...TRANSFER_KINDS.map((kind) => counts(`  ${kind}`, counter(`transfer.${stage}.${kind}`))),
    ]),
    ['active calls by trunk'],
    ...union(workers, (w) => Object.keys(w.callsByTrunk)).map((trunk) => counts(`  ${trunk}`, (w) => w.callsByTrunk[trunk] ?? 0)),
  ];
  return formatTable(columns, rows);
}

/** The line above each redraw of `stats --watch`. */
export function formatWatchHeading(now: number, intervalMs: number): string {
  return `${formatLocalTime(now)}  every ${intervalMs % 1000 === 0 ? `${intervalMs / 1000}s` : `${intervalMs}ms`}, Ctrl-C to stop\n\n`;
}

function byState(workers: readonly WorkerStats[]): string[] {
  const rank = (s: string) => (STATE_ORDER.includes(s) ? STATE_ORDER.indexOf(s) : STATE_ORDER.length);
  return union(workers, (w) => Object.keys(w.callsByState)).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The names under `prefix` among `counters`, without it. */
function keysWith(counters: Record<string, number>, prefix: string): string[] {
  return Object.keys(counters).filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
}

function union(workers: readonly WorkerStats[], keys: (w: WorkerStats) => string[]): string[] {
  return [...new Set(workers.flatMap(keys))].sort();
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  return items.reduce((total, item) => total + of(item), 0);
}
