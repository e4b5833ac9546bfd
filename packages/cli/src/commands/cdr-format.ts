// How call detail records look on a terminal and in JSON. Pure: the `cdr` commands print what
// these return, and the tests read it without a cluster.
import { recordTrees, walkTrees, type CallDetailRecord, type PartyNumber } from '@switchboard/cdr';
import { formatFields, type Field } from '../output/fields.js';
import { formatJson } from '../output/json.js';
import { DIRECTION_SHORT } from '../output/direction.js';
import { formatTable, tableLines, type Column } from '../output/table.js';
import { formatDuration, formatLocalIso, formatLocalTime } from '../output/time.js';

/** A record and how deep it sits in its call's transfer tree (0: the call itself). */
export interface PlacedRecord {
  record: CallDetailRecord;
  depth: number;
}

/** Each referred call's record right after the record it was referred from, one level deeper. */
export function inTreeOrder(records: readonly CallDetailRecord[]): PlacedRecord[] {
  return [...walkTrees(recordTrees(records))];
}

export const CDR_COLUMNS: readonly Column[] = [
  { header: 'RECORD' },
  { header: 'STARTED' },
  { header: 'TRUNK' },
  { header: 'DIR' },
  { header: 'KIND' },
  { header: 'BILLABLE' },
  { header: 'FROM' },
  { header: 'TO' },
  { header: 'DISPOSITION' },
  { header: 'STATUS', align: 'right' },
  { header: 'DURATION', align: 'right' },
  { header: 'BILLED', align: 'right' },
];

export function cdrRow({ record, depth }: PlacedRecord): string[] {
  return [
    treeIndent(depth) + record.id,
    formatLocalTime(record.startedAt),
    record.trunk ?? '-',
    record.direction === undefined ? '-' : DIRECTION_SHORT[record.direction],
    record.kind,
    record.billable ? 'yes' : 'no',
    partyNumber(record.from),
    partyNumber(record.to),
    record.disposition,
    String(record.status),
    formatDuration(record.duration),
    formatDuration(record.billableSeconds),
  ];
}

/** `cdr ls`: one row per record, a referred call's record indented under its parent's. */
export function formatCdrTable(placed: readonly PlacedRecord[]): string {
  return formatTable(CDR_COLUMNS, placed.map(cdrRow));
}

/** A record as a JSON object of `cdr ls --json`: the record's own fields plus `depth`. */
export type PlacedRecordJson = CallDetailRecord & { depth: number };

function placedJson({ record, depth }: PlacedRecord): PlacedRecordJson {
  return { ...record, depth };
}

/** `cdr ls --json`: a flat array in tree order (a record's children follow it, `depth` one more). */
export function formatCdrListJson(placed: readonly PlacedRecord[]): string {
  return formatJson(placed.map(placedJson));
}

/** `cdr show --json`: the record, and its call's chain as `cdr ls --json` prints records. */
export function formatCdrShowJson(record: CallDetailRecord, chain: readonly PlacedRecord[]): string {
  return formatJson({ record, chain: chain.map(placedJson) });
}

type Shown = string | readonly string[];

/** Every field of a record, in the order of its definition; the type makes a new field a compile error here. */
const DETAIL: { readonly [K in keyof Required<CallDetailRecord>]: (r: CallDetailRecord) => Shown } = {
  id: (r) => r.id,
  v: (r) => String(r.v),
  callId: (r) => r.callId,
  parentId: (r) => r.parentId ?? '-',
  worker: (r) => r.worker,
  trunk: (r) => r.trunk ?? '-',
  direction: (r) => r.direction ?? '-',
  kind: (r) => r.kind,
  billable: (r) => (r.billable ? 'yes' : 'no'),
  from: (r) => partyDetail(r.from),
  to: (r) => partyDetail(r.to),
  referredBy: (r) => r.referredBy ?? '-',
  referTo: (r) => r.referTo ?? '-',
  carrier: (r) => r.carrier ?? '-',
  carriersTried: (r) => (r.carriersTried.length === 0 ? '-' : r.carriersTried.join(', ')),
  legs: (r) => (r.legs.length === 0
    ? []
    : tableLines(formatTable([{ header: 'LEG' }, { header: 'ROLE' }, { header: 'SIP CALL-ID' }], r.legs.map((l) => [l.leg, l.role, l.sipCallId])))),
  startedAt: (r) => formatLocalIso(r.startedAt),
  ringingAt: (r) => (r.ringingAt === undefined ? '-' : formatLocalIso(r.ringingAt)),
  answeredAt: (r) => (r.answeredAt === undefined ? '-' : formatLocalIso(r.answeredAt)),
  endedAt: (r) => formatLocalIso(r.endedAt),
  duration: (r) => `${formatDuration(r.duration)} (${r.duration} s)`,
  billableSeconds: (r) => String(r.billableSeconds),
  disposition: (r) => r.disposition,
  status: (r) => String(r.status),
  statusText: (r) => r.statusText ?? '-',
  reason: (r) => r.reason ?? '-',
  endedBy: (r) => r.endedBy,
  takenOver: (r) => (r.takenOver === undefined ? '-' : `${formatLocalIso(r.takenOver.at)}${r.takenOver.from === undefined ? '' : ` from ${r.takenOver.from}`}`),
};

const CHAIN_COLUMNS: readonly Column[] = [
  { header: '' },
  { header: 'RECORD' },
  { header: 'STARTED' },
  { header: 'KIND' },
  { header: 'FROM' },
  { header: 'TO' },
  { header: 'DISPOSITION' },
  { header: 'DURATION', align: 'right' },
  { header: 'BILLED', align: 'right' },
];

/**
 * `cdr show`: every field of the record as `name: value`, then its call's chain as a tree in
 * which `*` marks the record shown.
 */
export function formatCdrDetail(record: CallDetailRecord, chain: readonly PlacedRecord[]): string {
  const fields: Field[] = Object.entries(DETAIL).map(([name, show]) => [name, show(record)] as const);
  const rows = chain.map(({ record: r, depth }) => [
    r.id === record.id ? '*' : '',
    treeIndent(depth) + r.id,
    formatLocalTime(r.startedAt),
    r.kind,
    partyNumber(r.from),
    partyNumber(r.to),
    r.disposition,
    formatDuration(r.duration),
    formatDuration(r.billableSeconds),
  ]);
  const count = chain.length === 1 ? '1 record' : `${chain.length} records`;
  const tree = tableLines(formatTable(CHAIN_COLUMNS, rows)).map((l) => `  ${l}`.trimEnd());
  return `${formatFields(fields)}\nchain (${count}, * is this one):\n${tree.join('\n')}\n`;
}

/** The RECORD cell's prefix at a depth of the transfer tree: `  └ ` one level down, four spaces more per level below. */
export function treeIndent(depth: number): string {
  return depth <= 0 ? '' : `${'    '.repeat(depth - 1)}  └ `;
}

/** The number as the trunk's plan normalised it, else as received. */
function partyNumber(party: PartyNumber): string {
  return party.normalised ?? party.received ?? '-';
}

function partyDetail(party: PartyNumber): string {
  if (party.normalised !== undefined && party.received !== undefined && party.received !== party.normalised) {
    return `${party.normalised} (received ${party.received})`;
  }
  return partyNumber(party);
}
