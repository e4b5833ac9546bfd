// The bytes of a CallSnapshot: msgpackr maps (the envelopes' codec, no shared structures), read
// back field by field. A snapshot of another version, or one missing a field, is refused with a
// SnapshotError saying which: its call is lost, which is better than carrying on a guessed dialog.
import type { CallEvent } from '@switchboard/cdr';
import type { LimitHold } from '@switchboard/limits';
import { decodeMap, encodeMap, type TlsFiles } from '@switchboard/wire';
import type { DialogPhase, DialogSnapshot } from '../dialog/dialog-state.js';
import type { LegName } from '../protocol/call-messages.js';
import type { Destination } from '../protocol/sip-link.js';
import type { TransferRecord } from '../protocol/call-messages.js';
import { inviteOfHead } from './early-invite.js';
import {
  EARLY_SNAPSHOT_VERSION, SNAPSHOT_VERSION,
  type CallSnapshot, type EarlyInviteSnapshot, type LegSnapshot, type PartySessionSnapshot, type RunningTransferSnapshot, type SessionTimerSnapshot, type TransactionSnapshot,
} from './call-snapshot.js';

export type SnapshotErrorCode = 'undecodable' | 'version' | 'malformed';

export class SnapshotError extends Error {
  constructor(
    readonly code: SnapshotErrorCode,
    detail: string,
  ) {
    super(`call snapshot ${code}: ${detail}`);
    this.name = 'SnapshotError';
  }
}

export function encodeSnapshot(snapshot: CallSnapshot): Uint8Array {
  return encodeMap(snapshot);
}

export function decodeSnapshot(bytes: Uint8Array): CallSnapshot {
  let value: unknown;
  try {
    value = decodeMap(bytes);
  } catch (err) {
    throw new SnapshotError('undecodable', err instanceof Error ? err.message : String(err));
  }
  if (Array.isArray(value)) throw new SnapshotError('malformed', 'snapshot: expected a map, got a list');
  const r = new Fields(value, 'snapshot');
  const v = r.raw('v');
  if (v !== SNAPSHOT_VERSION && v !== EARLY_SNAPSHOT_VERSION) {
    throw new SnapshotError('version', `version ${JSON.stringify(v)}, this worker reads ${SNAPSHOT_VERSION} and ${EARLY_SNAPSHOT_VERSION} only`);
  }
  const early = v === EARLY_SNAPSHOT_VERSION;
  const parties = r.object('parties');
  const pair = r.array('pair');
  return {
    v,
    callId: r.string('callId'),
    slot: r.number('slot'),
    worker: r.string('worker'),
    sipCallId: r.string('sipCallId'),
    ...r.optional('trunk', (f, k) => f.string(k)),
    ...r.optional('direction', (f, k) => f.oneOf(k, ['termination', 'origination'] as const)),
    ...r.optional('customerLeg', (f, k) => f.leg(k)),
    parties: {
      ...parties.optional('customer', (f, k) => f.string(k)),
      ...parties.optional('remote', (f, k) => f.string(k)),
      remoteAnonymous: parties.boolean('remoteAnonymous'),
    },
    pair: [pair.leg(0), pair.raw(1) === undefined || pair.raw(1) === null ? undefined : pair.leg(1)],
    startedAt: r.number('startedAt'),
    // an early record has none: a call that is up always has one
    ...(early ? {} : { answeredAt: r.number('answeredAt') }),
    holds: r.list('holds', holdOf),
    ingress: destinationOf(r.object('ingress')),
    legs: r.list('legs', (f) => legOf(f, early)),
    sessions: r.list('sessions', sessionOf),
    transfers: r.list('transfers', transferRecordOf),
    ...r.optional('transfer', (f, k) => runningTransferOf(f.object(k))),
    records: r.list('records', eventOf),
  };
}

function legOf(r: Fields, early: boolean): LegSnapshot {
  return {
    name: r.leg('name'),
    role: r.oneOf('role', ['uas', 'uac'] as const),
    scope: r.string('scope'),
    dialog: dialogOf(r.object('dialog')),
    cseqReservation: r.number('cseqReservation'),
    peer: destinationOf(r.object('peer')),
    ...r.optional('session', (f, k) => sessionTimerOf(f.object(k))),
    transactions: r.list('transactions', transactionOf),
    ...(early ? r.optional('invite', (f, k) => earlyInviteOf(f.object(k))) : {}),
  };
}

function earlyInviteOf(r: Fields): EarlyInviteSnapshot {
  const head = r.bytes('head');
  try {
    inviteOfHead(head);
  } catch (err) {
    throw new SnapshotError('malformed', `${r.path}.head: not an INVITE (${err instanceof Error ? err.message : String(err)})`);
  }
  return { head, provisionalSeen: r.boolean('provisionalSeen') };
}

function dialogOf(r: Fields): DialogSnapshot {
  const routes = r.array('routeSet');
  return {
    role: r.oneOf('role', ['uas', 'uac'] as const),
    phase: r.oneOf<DialogPhase>('phase', ['early', 'confirmed', 'terminated']),
    callId: r.string('callId'),
    localUri: r.string('localUri'),
    remoteUri: r.string('remoteUri'),
    localTag: r.string('localTag'),
    ...r.optional('remoteTag', (f, k) => f.string(k)),
    localCSeq: r.number('localCSeq'),
    remoteCSeq: r.number('remoteCSeq'),
    routeSet: routes.indices().map((i) => routes.string(i)),
    remoteTarget: r.string('remoteTarget'),
  };
}

function destinationOf(r: Fields): Destination {
  return {
    // a TLS peer too: its calls are taken over like the others, and a new connection to it is verified as before
    protocol: r.oneOf('protocol', ['udp', 'tcp', 'tls'] as const),
    address: r.string('address'),
    port: r.number('port'),
    ...r.optional('serverName', (f, k) => f.string(k)),
    ...r.optional('tlsFiles', (f, k) => tlsFilesOf(f.object(k))),
    ...r.optional('connectionId', (f, k) => f.string(k)),
    nodeId: r.string('nodeId'),
    localAddress: r.string('localAddress'),
    localPort: r.number('localPort'),
  };
}

function tlsFilesOf(r: Fields): TlsFiles {
  return {
    ...r.optional('caFile', (f, k) => f.string(k)),
    ...r.optional('certFile', (f, k) => f.string(k)),
    ...r.optional('keyFile', (f, k) => f.string(k)),
  };
}

function sessionTimerOf(r: Fields): SessionTimerSnapshot {
  return { seconds: r.number('seconds'), refresher: r.oneOf('refresher', ['uac', 'uas'] as const), refreshedAt: r.number('refreshedAt') };
}

function transactionOf(r: Fields): TransactionSnapshot {
  return { method: r.string('method'), cseq: r.number('cseq'), side: r.oneOf('side', ['inbound', 'outbound'] as const) };
}

function holdOf(r: Fields): LimitHold {
  return { key: r.string('key'), id: r.number('id') };
}

function sessionOf(r: Fields): PartySessionSnapshot {
  return {
    leg: r.leg('leg'),
    ...r.optional('body', (f, k) => f.bytes(k)),
    ...r.optional('contentType', (f, k) => f.string(k)),
    ...r.optional('originReceived', (f, k) => f.bytes(k)),
    ...r.optional('originSent', (f, k) => f.bytes(k)),
  };
}

function transferRecordOf(r: Fields): TransferRecord {
  return {
    id: r.string('id'),
    transferor: r.leg('transferor'),
    target: r.string('target'),
    kind: r.oneOf('kind', ['pstn', 'sip'] as const),
    billable: r.boolean('billable'),
    outcome: r.oneOf('outcome', ['in-progress', 'answered', 'failed'] as const),
    ...r.optional('status', (f, k) => f.number(k)),
  };
}

function runningTransferOf(r: Fields): RunningTransferSnapshot {
  return { id: r.string('id'), transferor: r.leg('transferor'), referCSeq: r.number('referCSeq') };
}

const EVENT_TYPES: ReadonlySet<string> = new Set<CallEvent['type']>([
  'started', 'planned', 'refused', 'unrecorded', 'attempt', 'ringing', 'answered', 'failed', 'hangup', 'released', 'final', 'ending', 'transfer', 'transfer-failed', 'ended',
]);

/**
 * A record event is checked for its type and time only: the ledger that replays it reads the
 * rest, and a ledger that cannot loses that one call's record with a log line (CdrActor).
 */
function eventOf(r: Fields): CallEvent {
  const type = r.string('type');
  if (!EVENT_TYPES.has(type)) throw new SnapshotError('malformed', `${r.path}.type: unknown record event ${JSON.stringify(type)}`);
  if (r.raw('at') !== undefined) r.number('at');
  return r.value as CallEvent;
}

const LEG_NAME = /^(?:a|remote|b\d+|c\d+\.\d+)$/;
const isLegName = (v: unknown): v is LegName => typeof v === 'string' && LEG_NAME.test(v);

/** One msgpack map, read a field at a time; each failure names the field's path. */
class Fields {
  readonly value: Record<string, unknown>;

  constructor(
    value: unknown,
    readonly path: string,
  ) {
    if (typeof value !== 'object' || value === null || value instanceof Uint8Array) throw new SnapshotError('malformed', `${path}: expected a map`);
    this.value = value as Record<string, unknown>;
  }

  raw(key: string | number): unknown {
    return this.value[key];
  }

  private bad(key: string | number, expected: string): SnapshotError {
    return new SnapshotError('malformed', `${this.path}.${key}: expected ${expected}, got ${JSON.stringify(this.value[key]) ?? 'nothing'}`);
  }

  string(key: string | number): string {
    const v = this.value[key];
    if (typeof v !== 'string') throw this.bad(key, 'a string');
    return v;
  }

  number(key: string | number): number {
    const v = this.value[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.bad(key, 'a number');
    return v;
  }

  boolean(key: string): boolean {
    const v = this.value[key];
    if (typeof v !== 'boolean') throw this.bad(key, 'true or false');
    return v;
  }

  bytes(key: string): Uint8Array {
    const v = this.value[key];
    if (!(v instanceof Uint8Array)) throw this.bad(key, 'bytes');
    return v;
  }

  leg(key: string | number): LegName {
    const v = this.value[key];
    if (!isLegName(v)) throw this.bad(key, 'a leg name');
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T {
    const v = this.value[key];
    const found = values.find((x) => x === v);
    if (found === undefined) throw this.bad(key, values.join(' or '));
    return found;
  }

  object(key: string): Fields {
    return new Fields(this.value[key], `${this.path}.${key}`);
  }

  array(key: string): Fields {
    const v = this.value[key];
    if (!Array.isArray(v)) throw this.bad(key, 'a list');
    return new Fields(v, `${this.path}.${key}`);
  }

  indices(): number[] {
    return Array.isArray(this.value) ? this.value.map((_, i) => i) : [];
  }

  list<T>(key: string, read: (item: Fields) => T): T[] {
    const items = this.array(key);
    return items.indices().map((i) => read(items.object(String(i))));
  }

  /** `{ [key]: value }` when present, `{}` when absent: spread into the result so absent stays absent. */
  optional<K extends string, T>(key: K, read: (f: Fields, key: K) => T): { [P in K]?: T } {
    const v = this.value[key];
    if (v === undefined || v === null) return {};
    return { [key]: read(this, key) } as { [P in K]?: T };
  }
}
