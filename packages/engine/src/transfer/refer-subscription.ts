// The notifier side of the implicit subscription a REFER creates: RFC 3515 §2.4.4–2.4.7 on the
// RFC 6665 event framework, with RFC 4488 `Refer-Sub: false`. Pure: the driver (the transfer
// orchestration) sends each NOTIFY in its own client transaction, runs the expiry timer and
// feeds back the answers; this machine only decides what the transferor is told, and when.
import { isFailure, isProvisional } from '@switchboard/transactions';

export interface ReferSubscriptionOptions {
  /** The REFER's CSeq number: `Event: refer;id=<n>` is used when this is not the dialog's first REFER (RFC 3515 §2.4.6). */
  cseq: number;
  firstInDialog: boolean;
  /** RFC 4488: `Refer-Sub: false` in the REFER and we honour it → no NOTIFY at all. */
  referSub: boolean;
  /** Seconds the subscription stays active when no final status comes (Subscription-State expires=), default 60. */
  expiresSeconds?: number;
}

/**
 * `at` (optional on every event) is the driver's monotonic clock in milliseconds when the event
 * happened. `expires=` in an active NOTIFY counts down from the `at` of `start`; without both
 * stamps it shows the full `expiresSeconds`. The machine never reads a clock itself.
 */
export type ReferSubscriptionEvent =
  /** Right after our 202: the first NOTIFY, `SIP/2.0 100 Trying` (§2.4.5 requires an immediate NOTIFY). */
  | { type: 'start'; at?: number }
  /** A provisional of the new leg (180, 183): a NOTIFY with that status line, still active. */
  | { type: 'progress'; status: number; reason: string; at?: number }
  /** The new leg's final outcome (200 only when the target really answered): NOTIFY terminated;reason=noresource. */
  | { type: 'final'; status: number; reason: string; at?: number }
  /**
   * The transferor's answer to NOTIFY number `seq` (1-based); a transaction timeout is fed as 408.
   * A failure ends the subscription (RFC 6665 §4.2.2), NOT the transfer.
   */
  | { type: 'notify-answered'; seq: number; status: number; at?: number }
  /** Our expiry timer fired: a final NOTIFY terminated;reason=timeout. */
  | { type: 'expired'; at?: number };

export type ReferSubscriptionEndReason = 'final' | 'rejected' | 'timeout' | 'not-subscribed';

export type ReferSubscriptionEffect =
  /** Send a NOTIFY in the REFER's dialog; feed its answer back as `notify-answered` with the same `seq`. */
  | {
      type: 'notify';
      seq: number;
      headers: [string, string][];
      /** message/sipfrag (RFC 3420): the status line of the new leg. */
      body: string;
      contentType: 'message/sipfrag;version=2.0';
      /** Subscription-State is terminated: the last NOTIFY of this subscription. */
      final: boolean;
    }
  /** Arm the expiry timer; when it fires, feed `expired`. */
  | { type: 'start-expiry'; ms: number }
  /** Disarm the expiry timer: a fire not yet delivered must be dropped. */
  | { type: 'cancel-expiry' }
  /** The subscription is over: the machine emits nothing more. */
  | { type: 'ended'; reason: ReferSubscriptionEndReason };

/**
 * - `idle`: the REFER is not yet accepted (nothing sent).
 * - `active`: NOTIFYs carry `Subscription-State: active`; at most one is unanswered.
 * - `waiting-final-answer`: the last NOTIFY (terminated) is sent, or queued behind an unanswered one.
 * - `terminated`: `ended` was emitted.
 */
export type ReferSubscriptionState = 'idle' | 'active' | 'waiting-final-answer' | 'terminated';

export const DEFAULT_REFER_EXPIRES_SECONDS = 60;

interface StatusLine {
  readonly status: number;
  readonly reason: string;
}

/** One NOTIFY to send: the status line in its body and what its Subscription-State says. */
interface Notification {
  readonly line: StatusLine;
  readonly subscription: 'active' | 'noresource' | 'timeout';
}

const TRYING: StatusLine = { status: 100, reason: 'Trying' };
const SIPFRAG = 'message/sipfrag;version=2.0';

export class ReferSubscription {
  readonly expiresSeconds: number;
  private current: ReferSubscriptionState = 'idle';
  private readonly eventHeader: string;
  private readonly referSub: boolean;
  private startedAt: number | undefined;
  private expiryArmed = false;
  private sent = 0;
  /** The unanswered NOTIFY (RFC 6665 allows one outstanding per subscription). */
  private outstanding: { seq: number; line: StatusLine; final: boolean } | undefined;
  /** What to send when the outstanding NOTIFY is answered: only the latest state matters. */
  private pending: Notification | undefined;
  /** The newest status of the new leg, sent or pending. */
  private latest: StatusLine = TRYING;
  /** Why the last NOTIFY terminates the subscription, once it is decided. */
  private ending: 'final' | 'timeout' = 'final';

  constructor(options: ReferSubscriptionOptions) {
    const expires = options.expiresSeconds ?? DEFAULT_REFER_EXPIRES_SECONDS;
    if (!Number.isSafeInteger(expires) || expires <= 0) {
      throw new RangeError(`expiresSeconds must be a positive integer, got ${expires}`);
    }
    // RFC 3261 §8.1.1.5: a CSeq number is below 2**31.
    if (!Number.isSafeInteger(options.cseq) || options.cseq < 0 || options.cseq >= 2 ** 31) {
      throw new RangeError(`cseq must be an integer in [0, 2^31), got ${options.cseq}`);
    }
    this.expiresSeconds = expires;
    this.referSub = options.referSub;
    this.eventHeader = options.firstInDialog ? 'refer' : `refer;id=${options.cseq}`;
  }

  get state(): ReferSubscriptionState {
    return this.current;
  }

  handle(event: ReferSubscriptionEvent): ReferSubscriptionEffect[] {
    const out: ReferSubscriptionEffect[] = [];
    switch (this.current) {
      case 'idle':
        this.idle(out, event);
        break;
      case 'active':
        this.active(out, event);
        break;
      case 'waiting-final-answer':
        this.waitingFinalAnswer(out, event);
        break;
      case 'terminated':
        break;
    }
    return out;
  }

  private idle(out: ReferSubscriptionEffect[], event: ReferSubscriptionEvent): void {
    switch (event.type) {
      case 'start':
        if (!this.referSub) {
          // RFC 4488 §4: with Refer-Sub: false accepted, no subscription exists and no NOTIFY is sent.
          this.end(out, 'not-subscribed');
          break;
        }
        this.current = 'active';
        this.startedAt = event.at;
        this.send(out, { line: TRYING, subscription: 'active' }, event.at);
        this.expiryArmed = true;
        out.push({ type: 'start-expiry', ms: this.expiresSeconds * 1000 });
        break;
      case 'progress':
      case 'final':
      case 'notify-answered':
      case 'expired':
        break; // nothing is reported before the REFER is accepted
    }
  }

  private active(out: ReferSubscriptionEffect[], event: ReferSubscriptionEvent): void {
    switch (event.type) {
      case 'start':
        break;
      case 'progress': {
        if (!isProvisional(event.status) || event.status === this.latest.status) break;
        const line = statusLine(event.status, event.reason);
        this.latest = line;
        if (this.outstanding === undefined) {
          this.send(out, { line, subscription: 'active' }, event.at);
        } else if (this.outstanding.line.status === line.status) {
          this.pending = undefined; // back to what the transferor is being told already
        } else {
          this.pending = { line, subscription: 'active' };
        }
        break;
      }
      case 'final':
        if (event.status < 200 || event.status > 699) break;
        this.latest = statusLine(event.status, event.reason);
        this.ending = 'final';
        this.finish(out, { line: this.latest, subscription: 'noresource' }, event.at);
        break;
      case 'notify-answered':
        this.answered(out, event.seq, event.status, event.at);
        break;
      case 'expired':
        this.expiryArmed = false; // armed all through active; this is its fire
        // RFC 6665 §4.2.2: the subscription ends with a NOTIFY terminated;reason=timeout.
        this.ending = 'timeout';
        this.finish(out, { line: this.latest, subscription: 'timeout' }, event.at);
        break;
    }
  }

  private waitingFinalAnswer(out: ReferSubscriptionEffect[], event: ReferSubscriptionEvent): void {
    switch (event.type) {
      case 'notify-answered':
        this.answered(out, event.seq, event.status, event.at);
        break;
      case 'start':
      case 'progress':
      case 'final':
      case 'expired':
        break; // the outcome is decided; only answers matter now
    }
  }

  /** The last NOTIFY: sent now, or queued (superseding any pending progress) behind the outstanding one. */
  private finish(out: ReferSubscriptionEffect[], last: Notification, at: number | undefined): void {
    this.current = 'waiting-final-answer';
    if (this.outstanding === undefined) {
      this.send(out, last, at); // nothing can be pending: a pending NOTIFY waits for an outstanding one
    } else {
      this.pending = last;
    }
    this.cancelExpiry(out);
  }

  private answered(out: ReferSubscriptionEffect[], seq: number, status: number, at: number | undefined): void {
    const answered = this.outstanding;
    if (answered === undefined || seq !== answered.seq || status < 200) return;
    this.outstanding = undefined;
    if (answered.final) {
      this.end(out, this.ending);
    } else if (isFailure(status)) {
      // RFC 6665 §4.2.2: a failed NOTIFY (481, a timeout fed as 408, any other error) removes the subscription.
      this.end(out, 'rejected');
    } else if (this.pending !== undefined) {
      const next = this.pending;
      this.pending = undefined;
      this.send(out, next, at);
    }
  }

  private send(out: ReferSubscriptionEffect[], n: Notification, at: number | undefined): void {
    const seq = ++this.sent;
    const final = n.subscription !== 'active';
    this.outstanding = { seq, line: n.line, final };
    const subscriptionState =
      n.subscription === 'active' ? `active;expires=${this.remainingSeconds(at)}` : `terminated;reason=${n.subscription}`;
    out.push({
      type: 'notify',
      seq,
      headers: [
        ['Event', this.eventHeader],
        ['Subscription-State', subscriptionState],
      ],
      body: `SIP/2.0 ${n.line.status} ${n.line.reason}\r\n`,
      contentType: SIPFRAG,
      final,
    });
  }

  private remainingSeconds(at: number | undefined): number {
    if (this.startedAt === undefined || at === undefined) return this.expiresSeconds;
    const leftMs = this.startedAt + this.expiresSeconds * 1000 - at;
    return Math.min(this.expiresSeconds, Math.max(0, Math.ceil(leftMs / 1000)));
  }

  private cancelExpiry(out: ReferSubscriptionEffect[]): void {
    if (!this.expiryArmed) return;
    this.expiryArmed = false;
    out.push({ type: 'cancel-expiry' });
  }

  private end(out: ReferSubscriptionEffect[], reason: ReferSubscriptionEndReason): void {
    this.cancelExpiry(out);
    this.pending = undefined;
    this.outstanding = undefined;
    this.current = 'terminated';
    out.push({ type: 'ended', reason });
  }
}

/** A status line safe to put in a sipfrag body: a reason phrase cannot break the line. */
function statusLine(status: number, reason: string): StatusLine {
  return { status, reason: reason.replace(/[\r\n]+/g, ' ') };
}
