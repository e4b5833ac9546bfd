// RFC 4028 session timers of one leg, as pure decisions: the interval and refresher, the headers
// of the 2xx, and which timer to arm when. The leg owns the clock; this only says what to arm.
import type { SipRequest, SipResponse } from '@switchboard/sip';

/** Who sends the refreshes (RFC 4028 §7.1): the UAC or the UAS of the INVITE that set the interval. */
export type Refresher = 'uac' | 'uas';

/** The two leg timers a session timer arms: our refresh, or the session's end when the peer refreshes. */
export type SessionTimerName = 'session-refresh' | 'session-expiry';

/** Arm `timer` to fire after `ms` milliseconds, replacing the one armed before. */
export interface SessionTimerArming {
  readonly timer: SessionTimerName;
  readonly ms: number;
}

/** The session timer of a dialog this leg answered as UAS: plain fields, so it can be snapshotted. */
export class SessionTimer {
  constructor(
    /** The session interval (Session-Expires delta-seconds). */
    public seconds: number,
    public refresher: Refresher,
  ) {}

  /**
   * RFC 4028 §9: a UAS answering an INVITE with Session-Expires states the interval and the
   * refresher in its 2xx (the UAC unless the INVITE asked us), and requires `timer` when the UAC
   * supports it. No Session-Expires: no session timer.
   */
  static answer(invite: SipRequest): { timer: SessionTimer; headers: [string, string][] } | undefined {
    const se = invite.headers.sessionExpires;
    if (se === undefined) return undefined;
    const refresher = refresherOf(invite);
    const headers: [string, string][] = [['Session-Expires', `${se.seconds};refresher=${refresher}`]];
    if (invite.headers.supported.includes('timer')) headers.push(['Require', 'timer']);
    return { timer: new SessionTimer(se.seconds, refresher), headers };
  }

  /**
   * §10: the refresher refreshes at half the interval; the other side, seeing no refresh, ends
   * the session at the interval minus min(32 s, a third of it).
   */
  next(): SessionTimerArming {
    if (this.refresher === 'uas') return { timer: 'session-refresh', ms: (this.seconds * 1000) / 2 };
    return { timer: 'session-expiry', ms: (this.seconds - Math.min(32, this.seconds / 3)) * 1000 };
  }

  /** §10: a re-INVITE or UPDATE from the peer with Session-Expires sets a new interval and refresher. */
  refreshedBy(request: SipRequest): SessionTimerArming | undefined {
    const se = request.headers.sessionExpires;
    if (se === undefined) return undefined;
    this.seconds = se.seconds;
    this.refresher = refresherOf(request);
    return this.next();
  }

  /** The headers of our refresh: an UPDATE with no body (§7.4, §9), we stay the refresher. */
  refreshHeaders(): [string, string][] {
    return [['Session-Expires', `${this.seconds};refresher=uas`]];
  }

  /**
   * The final answer to our refresh: a 2xx with Session-Expires arms the next one at half its
   * (possibly new) interval; a refusal ends the session (§10); a 2xx without one arms nothing.
   */
  refreshAnswered(response: SipResponse): SessionTimerArming | 'refused' | undefined {
    if (response.status >= 300) return 'refused';
    const se = response.headers.sessionExpires;
    if (response.status < 200 || se === undefined) return undefined;
    this.seconds = se.seconds;
    this.refresher = 'uas';
    return this.next();
  }
}

function refresherOf(request: SipRequest): Refresher {
  return request.headers.sessionExpires?.param('refresher') === 'uas' ? 'uas' : 'uac';
}
