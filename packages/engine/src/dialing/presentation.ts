import { NameAddr, SipUri } from '@switchboard/sip';
import { formatNumber, type CallTarget } from '@switchboard/trunking';

/** A withheld caller (RFC 3323 §4.1.1.3). */
export function anonymousIdentity(): NameAddr {
  return new NameAddr(new SipUri({ user: 'anonymous', host: 'anonymous.invalid' }), 'Anonymous');
}

/**
 * How a carrier sees a caller: From and P-Asserted-Identity with the verified number, in the
 * carrier's number format, at our address; when withheld, an anonymous From and Privacy: id —
 * the carrier is trusted with the identity all the same (RFC 3325).
 */
export function pstnCaller(target: CallTarget, ourHost: string, caller: { number: string; anonymous: boolean }, displayName: string | undefined): { from: NameAddr; headers: [string, string][] } {
  const number = target.carrier === undefined ? caller.number : formatNumber(caller.number, target.carrier.numberFormat);
  const identity = new NameAddr(new SipUri({ user: number, host: ourHost, params: [{ name: 'user', value: 'phone' }] }));
  const headers: [string, string][] = [['P-Asserted-Identity', identity.toString()]];
  if (!caller.anonymous) return { from: new NameAddr(identity.uri, displayName), headers };
  headers.push(['Privacy', 'id']);
  return { from: anonymousIdentity(), headers };
}
