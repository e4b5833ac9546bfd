// How live calls look on a terminal and in JSON. Pure: the `calls` commands print what these
// return, and the tests read it without a cluster.
import type { CallDetail, CallSummary } from '@switchboard/admin/client';
import { DIRECTION_SHORT } from '../output/direction.js';
import { formatFields, type Field } from '../output/fields.js';
import { formatJson } from '../output/json.js';
import { formatTable, tableLines, type Column } from '../output/table.js';
import { formatClockTime, formatDuration, formatLocalIso } from '../output/time.js';

export const CALL_COLUMNS: readonly Column[] = [
  { header: 'ID' },
  { header: 'WORKER' },
  { header: 'STATE' },
  { header: 'TRUNK' },
  { header: 'DIR' },
  { header: 'FROM' },
  { header: 'TO' },
  { header: 'STARTED' },
  { header: 'ANSWERED' },
  { header: 'AGE', align: 'right' },
  { header: 'LEGS', align: 'right' },
  { header: 'XFERS', align: 'right' },
];

/** One row of `calls ls`; AGE is the time since the call started, at `now`. */
export function callRow(call: CallSummary, now: number): string[] {
  return [
    call.id,
    call.worker,
    call.state,
    call.trunk ?? '-',
    call.direction === undefined ? '-' : DIRECTION_SHORT[call.direction],
    call.from ?? '-',
    call.to ?? '-',
    formatClockTime(call.startedAt, now),
    call.answeredAt === undefined ? '-' : formatClockTime(call.answeredAt, now),
    formatDuration(secondsBetween(call.startedAt, now)),
    String(call.legs),
    String(call.transfers),
  ];
}

/** `calls ls`: one row per call, oldest first. */
export function formatCallTable(calls: readonly CallSummary[], now: number): string {
  return formatTable(CALL_COLUMNS, [...calls].sort((a, b) => a.startedAt - b.startedAt).map((c) => callRow(c, now)));
}

/** `calls ls --json`: the calls as the workers describe them, oldest first. */
export function formatCallListJson(calls: readonly CallSummary[]): string {
  return formatJson([...calls].sort((a, b) => a.startedAt - b.startedAt));
}

const LEG_COLUMNS: readonly Column[] = [{ header: 'LEG' }, { header: 'ROLE' }, { header: 'DIALOG' }, { header: 'SIP CALL-ID' }, { header: 'PEER' }];

const TRANSFER_COLUMNS: readonly Column[] = [
  { header: 'TRANSFER' }, { header: 'TARGET' }, { header: 'KIND' }, { header: 'BILLABLE' }, { header: 'OUTCOME' }, { header: 'STATUS', align: 'right' },
];

/**
 * `calls show`: the call's fields, then its legs (each with its dialog's state: a leg relayed
 * from another worker shows `relayed`) and its transfers, each as a table.
 */
export function formatCallDetail(call: CallDetail, now: number): string {
  const legs = call.legList.map((l) => [l.name, l.role, l.dialog, l.sipCallId || '-', l.peer || '-']);
  const transfers = call.transferList.map((t) => [t.id, t.target, t.kind, t.billable ? 'yes' : 'no', t.outcome, t.status === undefined ? '-' : String(t.status)]);
  const fields: Field[] = [
    ['id', call.id],
    ['worker', call.worker],
    ['state', call.state],
    ['trunk', call.trunk ?? '-'],
    ['direction', call.direction ?? '-'],
    ['from', call.from ?? '-'],
    ['to', call.to ?? '-'],
    ['startedAt', formatLocalIso(call.startedAt)],
    ['answeredAt', call.answeredAt === undefined ? '-' : formatLocalIso(call.answeredAt)],
    ['age', formatDuration(secondsBetween(call.startedAt, now))],
    ['talking', call.answeredAt === undefined ? '-' : formatDuration(secondsBetween(call.answeredAt, now))],
    ['legs', legs.length === 0 ? [] : tableLines(formatTable(LEG_COLUMNS, legs))],
    ['transfers', transfers.length === 0 ? [] : tableLines(formatTable(TRANSFER_COLUMNS, transfers))],
  ];
  return formatFields(fields);
}

/** `calls hangup`: the BYEs go out after the answer, so this says they were asked for. */
export function formatHangup(answer: { id: string; worker: string }): string {
  return `call ${answer.id} on ${answer.worker}: hanging up (BYE to each leg)\n`;
}

/** `calls transfer`: the transfer's id and kind (pstn: a number on the trunk, billable; sip: another domain). */
export function formatTransferStarted(answer: { id: string; transfer: string; kind: string }): string {
  return `call ${answer.id}: transfer ${answer.transfer} (${answer.kind}) started\n`;
}

function secondsBetween(from: number, to: number): number {
  return Math.max(0, to - from) / 1000;
}
