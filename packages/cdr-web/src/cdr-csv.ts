import { walkTrees, type CallDetailRecord, type RecordTree } from '@switchboard/cdr';

type Cell = string | number | boolean | undefined;

/** The CSV's columns, in order: the header row, and how each is read off a record at a depth. */
const COLUMNS: ReadonlyArray<readonly [string, (r: CallDetailRecord, depth: number) => Cell]> = [
  ['depth', (_, depth) => depth],
  ['id', (r) => r.id],
  ['parentId', (r) => r.parentId],
  ['callId', (r) => r.callId],
  ['trunk', (r) => r.trunk],
  ['direction', (r) => r.direction],
  ['kind', (r) => r.kind],
  ['billable', (r) => r.billable],
  ['fromReceived', (r) => r.from.received],
  ['fromNormalised', (r) => r.from.normalised],
  ['toReceived', (r) => r.to.received],
  ['toNormalised', (r) => r.to.normalised],
  ['referredBy', (r) => r.referredBy],
  ['referTo', (r) => r.referTo],
  ['carrier', (r) => r.carrier],
  ['carriersTried', (r) => r.carriersTried.join(';')],
  ['sipCallIds', (r) => r.legs.map((l) => l.sipCallId).join(';')],
  ['startedAt', (r) => iso(r.startedAt)],
  ['ringingAt', (r) => iso(r.ringingAt)],
  ['answeredAt', (r) => iso(r.answeredAt)],
  ['endedAt', (r) => iso(r.endedAt)],
  ['duration', (r) => r.duration],
  ['billableSeconds', (r) => r.billableSeconds],
  ['disposition', (r) => r.disposition],
  ['status', (r) => r.status],
  ['statusText', (r) => r.statusText],
  ['reason', (r) => r.reason],
  ['endedBy', (r) => r.endedBy],
  ['worker', (r) => r.worker],
];

export const CDR_CSV_HEADER: readonly string[] = COLUMNS.map(([name]) => name);

/**
 * The records as CSV (RFC 4180: CRLF line ends, a header row first), in tree order: each
 * referred call right after the record it was referred from, its `depth` one more.
 */
export function toCdrCsv(trees: readonly RecordTree[]): string {
  const lines = [CDR_CSV_HEADER.map(csvField).join(',')];
  for (const { record, depth } of walkTrees(trees)) {
    lines.push(COLUMNS.map(([, read]) => csvCell(read(record, depth))).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

function csvCell(value: Cell): string {
  if (value === undefined) return '';
  // Numbers and booleans are ours, written by JavaScript: never a formula, never quoted.
  if (typeof value !== 'string') return String(value);
  return csvField(value);
}

/**
 * One text field: guarded against formula injection, then quoted when RFC 4180 needs it (a
 * comma, a double quote, CR or LF inside), with its double quotes doubled.
 */
export function csvField(text: string): string {
  const guarded = FORMULA.test(text) && !SIGNED_NUMBER.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

/*
 * Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with `=`,
 * `+`, `-` or `@` (and, in some, after a leading tab or CR) as a formula, and a From user part
 * or a reason phrase is the caller's to choose. Such a field gets a leading `'`, which makes
 * the spreadsheet show it as text.
 *
 * Except a plain signed number: E.164 numbers (`+14155551234`) start with `+`, are most of
 * these files, and a billing import reads them back byte for byte, so they stay as they are.
 * Only `+`/`-` followed by digits alone (an optional decimal part) is let through: such a cell
 * is a number to a spreadsheet, not a formula. "`+` followed by a digit" would not do:
 * `-1+cmd|' /C calc'!A0` starts with one.
 */
const FORMULA = /^[=+\-@\t\r]/;
const SIGNED_NUMBER = /^[+-]\d+(\.\d+)?$/;

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}
