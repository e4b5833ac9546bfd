import type { CallDetail, CallSummary } from '@switchboard/admin';
import type { LegInfo, LegName } from '../protocol/call-messages.js';
import type { TransferRecord } from '../transfer/call-transfers.js';

/** A leg as the call knows it: its address, what operators see of it, and its dialog's state as its events told. */
export interface CallLegView {
  readonly info: LegInfo | undefined;
  dialog: 'early' | 'confirmed' | 'terminated';
}

/** What a call shows operators: read by the worker's admin target, never written. */
export interface CallFacts {
  readonly callId: string;
  readonly workerId: string;
  readonly state: string;
  readonly startedAt: number;
  readonly answeredAt: number | undefined;
  readonly trunk: string | undefined;
  readonly direction: 'termination' | 'origination' | undefined;
  readonly parties: { readonly customer: string | undefined; readonly remote: string | undefined };
  readonly legViews: ReadonlyMap<LegName, CallLegView>;
  readonly transferRecords: readonly TransferRecord[];
}

/** What operators see in a listing. */
export function callSummary(call: CallFacts): CallSummary {
  const termination = call.direction === 'termination';
  const from = termination ? call.parties.customer : call.parties.remote;
  const to = termination ? call.parties.remote : call.parties.customer;
  return {
    id: call.callId, worker: call.workerId, state: call.state, startedAt: call.startedAt,
    ...(call.answeredAt === undefined ? {} : { answeredAt: call.answeredAt }),
    ...(call.trunk === undefined ? {} : { trunk: call.trunk }),
    ...(call.direction === undefined ? {} : { direction: call.direction }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    legs: call.legViews.size, transfers: call.transferRecords.length,
  };
}

/** What `calls show` shows: the summary, each leg's dialog, each transfer. */
export function callDetail(call: CallFacts): CallDetail {
  return {
    ...callSummary(call),
    legList: [...call.legViews.entries()].map(([name, { info, dialog }]) => info === undefined
      ? { name, sipCallId: '', role: 'uac' as const, dialog: 'relayed', peer: '' }
      : { name, sipCallId: info.sipCallId, role: info.role, dialog, peer: `${info.peer.protocol}:${info.peer.address}:${info.peer.port}` }),
    transferList: call.transferRecords.map((t) => ({
      id: t.id, target: t.target, kind: t.kind, billable: t.billable, outcome: t.outcome, ...(t.status === undefined ? {} : { status: t.status }),
    })),
  };
}
