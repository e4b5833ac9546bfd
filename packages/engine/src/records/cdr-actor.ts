import { CallLedger, type CallDetailRecord, type CallEvent } from '@switchboard/cdr';
import type { Logger } from 'pino';
import type { ActorBehaviour, ActorKernel, ActorRef } from '../kernel/actor-kernel.js';

/** One event of one call, told by its call actor (or a transfer's); or, as the worker stops, `flush`. */
export type CdrMessage =
  | { callId: string; event: CallEvent }
  /** A snapshot of the call is being written: its events so far (after every event told before this). */
  | { ledgerOf: string; reply: (events: readonly CallEvent[]) => void }
  /** Worker takeover: a call this worker adopted, with the events of its snapshot. */
  | { adopt: string; events: readonly CallEvent[]; takenOver: { at: number; from?: string } }
  /** The call left this worker (its slot went to another): no record here, the new owner makes it. */
  | { forget: string }
  /** The worker is stopping: every call's records now, as they stand (a call still up ends here for its records). */
  | { flush: true; done?: () => void };

/** Where finished records go: the CDR stream's publisher on a worker, an array in unit tests. */
export interface RecordSink {
  emit(records: readonly CallDetailRecord[]): void;
}

export const CDR_ACTOR_ID = 'cdr';

/**
 * How long after a call starts ending its records are built, unless all its legs are gone
 * sooner: late news (a 487 crossing our CANCEL, a transfer's end) lands within it, while the
 * legs' last transactions (up to 64×T1 on UDP) are not waited for.
 */
export const RECORD_GRACE_MS = 2_000;

/**
 * The worker's CDR actor: keeps a ledger per call in progress from the events its call and
 * transfer actors tell it, and when a call has ended hands the call's records (one for the
 * call, one per transfer, linked) to the sink. It never crashes: a call whose events cannot be
 * read loses its record, and that is logged — the other calls' records are unaffected.
 */
export class CdrActor implements ActorBehaviour<CdrMessage> {
  private readonly ledgers = new Map<string, CallLedger>();
  private self: ActorRef<CdrMessage> | undefined;
  emitted = 0;

  constructor(
    private readonly workerId: string,
    private readonly sink: RecordSink,
    private readonly log: Logger,
  ) {}

  static spawn(kernel: ActorKernel, workerId: string, sink: RecordSink, log: Logger): ActorRef<CdrMessage> {
    const actor = new CdrActor(workerId, sink, log);
    actor.self = kernel.spawn(CDR_ACTOR_ID, actor);
    return actor.self;
  }

  /** Calls whose records are still being gathered. */
  get open(): number {
    return this.ledgers.size;
  }

  receive(m: CdrMessage): void {
    if ('flush' in m) {
      this.flush();
      m.done?.();
      return;
    }
    if ('ledgerOf' in m) return m.reply(this.ledgers.get(m.ledgerOf)?.toJSON() ?? []);
    if ('forget' in m) {
      this.ledgers.delete(m.forget);
      return;
    }
    if ('adopt' in m) return this.adopt(m.adopt, m.events, m.takenOver);
    const { callId, event } = m;
    try {
      let ledger = this.ledgers.get(callId);
      if (event.type === 'started') this.ledgers.set(callId, (ledger = new CallLedger(callId, this.workerId)));
      if (ledger === undefined) return;
      ledger.apply(event);
      if (event.type === 'ending') {
        const self = this.self;
        setTimeout(() => self?.tell({ callId, event: { type: 'ended', at: event.at } }), RECORD_GRACE_MS).unref();
      }
      if (event.type !== 'ended') return;
      this.ledgers.delete(callId);
      const records = ledger.records();
      if (records.length === 0) return;
      this.emitted += records.length;
      this.sink.emit(records);
    } catch (error) {
      this.ledgers.delete(callId);
      this.log.error({ err: error, call: callId, event: event.type }, 'call detail record lost: its events could not be read');
    }
  }

  private adopt(callId: string, events: readonly CallEvent[], takenOver: { at: number; from?: string }): void {
    try {
      this.ledgers.set(callId, CallLedger.fromJSON(callId, this.workerId, events, takenOver));
    } catch (error) {
      this.log.error({ err: error, call: callId }, 'call detail record lost: the adopted call\'s events could not be read');
    }
  }

  private flush(): void {
    const at = Date.now();
    for (const callId of [...this.ledgers.keys()]) this.receive({ callId, event: { type: 'ended', at } });
  }

  crashed(error: unknown): void {
    this.log.error({ err: error }, 'CDR actor failed');
  }
}
