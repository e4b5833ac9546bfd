import type { LegName } from '../protocol/call-messages.js';
import type { LegMessage } from '../protocol/leg-messages.js';
import type { PartySessionSnapshot } from '../takeover/call-snapshot.js';
import { OriginKeeper } from './sdp-origin.js';

const SDP = /application\/sdp/i;

export const isSdp = (contentType: string | undefined): boolean => contentType !== undefined && SDP.test(contentType);

interface Session {
  body: Uint8Array;
  contentType: string | undefined;
}

/**
 * The sessions of a call's parties: the last SDP each sent (a transfer's new leg is offered
 * the remaining party's), and, once a transfer re-pointed media, the `o=` line each party has
 * been shown, kept at its origin with a higher version (RFC 3264 §8). Both tables are made on
 * first use: a call that was never transferred relays SDP untouched.
 */
export class CallSessions {
  private last: Map<LegName, Session> | undefined;
  private keepers: Map<LegName, OriginKeeper> | undefined;

  /** A copy: a body is a view of its whole message's bytes, which a call that is up should not keep. */
  remember(leg: LegName, body: Uint8Array, contentType: string | undefined): void {
    // a real copy (Buffer#slice is a view) and a constant type (a header value is a slice of its message's text)
    (this.last ??= new Map()).set(leg, { body: new Uint8Array(body), contentType: isSdp(contentType) ? 'application/sdp' : contentType });
  }

  of(leg: LegName): Session | undefined {
    return this.last?.get(leg);
  }

  /** From now on `leg` sees the origin of `sdp` (what it last saw), unless it already has one. */
  keepOrigin(leg: LegName, sdp: Uint8Array, replace = true): void {
    const keepers = (this.keepers ??= new Map());
    if (!replace && keepers.has(leg)) return;
    const keeper = new OriginKeeper();
    keeper.show(sdp);
    keepers.set(leg, keeper);
  }

  /** Each party's last SDP and the o= state it was shown, for a snapshot (worker takeover). */
  toJSON(): PartySessionSnapshot[] {
    const legs = new Set<LegName>([...(this.last?.keys() ?? []), ...(this.keepers?.keys() ?? [])]);
    return [...legs].map((leg) => {
      const last = this.last?.get(leg);
      const origin = this.keepers?.get(leg)?.toJSON();
      return {
        leg, ...(last === undefined ? {} : { body: last.body, ...(last.contentType === undefined ? {} : { contentType: last.contentType }) }),
        ...(origin === undefined ? {} : { originReceived: origin.received, originSent: origin.sent }),
      };
    });
  }

  restore(parties: readonly PartySessionSnapshot[]): void {
    for (const p of parties) {
      if (p.body !== undefined) this.remember(p.leg, p.body, p.contentType);
      if (p.originReceived !== undefined && p.originSent !== undefined) (this.keepers ??= new Map()).set(p.leg, OriginKeeper.fromJSON({ received: p.originReceived, sent: p.originSent }));
    }
  }

  /** SDP going to a party that has seen another origin keeps that origin. */
  rewrite(leg: LegName, message: LegMessage): LegMessage {
    const keeper = this.keepers?.get(leg);
    if (keeper === undefined || !('body' in message) || message.body === undefined || message.body.length === 0) return message;
    if (!('contentType' in message) || !isSdp(message.contentType)) return message;
    return { ...message, body: keeper.show(message.body) };
  }
}

/** Whether two SDPs describe the same session, ignoring the `o=` version (which the keepers rewrite). */
export function sameSession(a: Uint8Array, b: Uint8Array): boolean {
  const strip = (x: Uint8Array) => Buffer.from(x).toString().replace(/^o=.*$/m, '');
  return strip(a) === strip(b);
}
