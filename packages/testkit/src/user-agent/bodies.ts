import type { SipMessage, SipRequest } from '@switchboard/sip';

export const toBuffer = (b: string | Uint8Array | undefined): Uint8Array | undefined =>
  b === undefined ? undefined : typeof b === 'string' ? Buffer.from(b, 'utf8') : b;

export const bodyText = (m: SipMessage): string | undefined => (m.body.length === 0 ? undefined : Buffer.from(m.body).toString('utf8'));

export function isSdp(m: SipMessage): boolean {
  if (m.body.length === 0) return false;
  const ct = m.headers.get('content-type');
  return ct === undefined || /application\/sdp/i.test(ct);
}

/** The status line carried by a NOTIFY's message/sipfrag body ('SIP/2.0 200 OK' → 200). */
export function sipfragStatus(notify: SipRequest): number | undefined {
  const m = /^SIP\/2\.0 (\d{3})/.exec(bodyText(notify) ?? '');
  return m === null ? undefined : Number(m[1]);
}

/** True when the NOTIFY ends its subscription (Subscription-State: terminated). */
export function isFinalNotify(notify: SipRequest): boolean {
  return /^\s*terminated/i.test(notify.headers.get('subscription-state') ?? '');
}
