import type { CallEvent } from '@switchboard/cdr';
import type { LegEvent, LegName } from '../protocol/call-messages.js';

/** What a call's records (and its span) learn from one leg event, and whose party it was if it ends the call. */
export interface LegEventRecord {
  event?: CallEvent;
  /** The leg whose party's BYE, CANCEL or final answer this is: who ended the call, if it ends now. */
  endingBy?: LegName;
  /** When that party ended it (its BYE or CANCEL as the transport received it). */
  endingAt?: number;
}

const NOTHING: LegEventRecord = Object.freeze({});

/** Pure: the call notes `event` and remembers `endingBy` until its next message. */
export function legEventRecord(m: LegEvent, at: number): LegEventRecord {
  switch (m.type) {
    case 'provisional':
      return m.status > 100 ? { event: { type: 'ringing', leg: m.leg, at } } : NOTHING;
    case 'failed':
      return {
        event: { type: 'failed', leg: m.leg, at, status: m.status, statusText: m.reason, cause: m.cause, ...(m.reasonHeader === undefined ? {} : { reason: m.reasonHeader }) },
        ...(m.cause === 'response' ? { endingBy: m.leg } : {}),
      };
    case 'cancelled':
    case 'bye': {
      // a BYE the leg sent itself (its session expired) is ours, not its party's
      if (m.type === 'bye' && m.reason !== undefined) return { event: { type: 'released', leg: m.leg, at } };
      // the party's own time: a BYE that got through only after a NATS outage ended the call when it was sent
      const sent = m.at ?? at;
      return {
        event: { type: 'hangup', leg: m.leg, at: sent, cancel: m.type === 'cancelled', ...(m.reasonHeader === undefined ? {} : { reason: m.reasonHeader }) },
        endingBy: m.leg,
        endingAt: sent,
      };
    }
    default:
      return NOTHING;
  }
}
