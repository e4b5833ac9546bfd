// Transaction matching keys: RFC 3261 §17.1.3 (responses to client transactions) and §17.2.3
// (requests to server transactions), with the RFC 2543 fallback for branches without the
// magic cookie. A key is an opaque string: two messages match when their keys are equal.
//
// Choices:
// - The branch is compared case-insensitively (§7.3.1: parameter values are case-insensitive
//   unless stated otherwise); the magic cookie itself must be written exactly `z9hG4bK` (§8.1.1.7).
// - sent-by is the host (case-insensitive) and the port as written: no port and 5060 differ.
//   A retransmission is a copy of the original, so "as written" is enough for equality.
// - Methods are case-sensitive (§7.1). An ACK maps to INVITE (it matches the INVITE it
//   acknowledges, §17.2.3); a CANCEL keeps its own method, hence its own transaction (§9.2);
//   `cancelTargetKey` finds the transaction a CANCEL cancels.
// - RFC 2543 fallback: Request-URI (as serialized, not §19.1.4 equivalence: retransmissions are
//   copies), To tag, From tag, Call-ID, CSeq number and method, and the top Via (sent-protocol,
//   sent-by and the same parameters with equal values, in any order). An ACK carries the To tag
//   of the response it acknowledges, which the INVITE lacked: `serverAckKey` is the key, under
//   which the server transaction must also be found once it has sent its final response.
// - A message whose Via, CSeq, From, To or Call-ID is missing or malformed has no key (undefined).
import { BRANCH_COOKIE, SipParseError, type SipRequest, type SipResponse, type Via } from '@switchboard/sip';

/** An opaque matching key. */
export type TransactionKey = string;

const SEP = '\n'; // no header value can hold a line feed once parsed

/** Reads a typed header, or undefined when it is malformed. */
function read<T>(get: () => T): T | undefined {
  try {
    return get();
  } catch (err) {
    if (err instanceof SipParseError) return undefined;
    throw err;
  }
}

/** Does `branch` start with the RFC 3261 magic cookie (§8.1.1.7)? */
export function hasMagicCookie(branch: string | undefined): branch is string {
  return branch !== undefined && branch.startsWith(BRANCH_COOKIE);
}

function branchOf(via: Via | undefined): string | undefined {
  const branch = via?.branch;
  return branch === undefined || branch.length === 0 ? undefined : branch.toLowerCase();
}

/**
 * The key of a client transaction, from the request it sends (§17.1.3): top Via branch and
 * method. Undefined without a branch (every request we send has one).
 */
export function clientTransactionKey(request: SipRequest): TransactionKey | undefined {
  const branch = branchOf(read(() => request.headers.topVia));
  return branch === undefined ? undefined : ['c', branch, request.method].join(SEP);
}

/** The client transaction a response belongs to (§17.1.3): top Via branch and CSeq method. */
export function clientResponseKey(response: SipResponse): TransactionKey | undefined {
  const branch = branchOf(read(() => response.headers.topVia));
  const cseq = read(() => response.headers.cseq);
  return branch === undefined || cseq === undefined ? undefined : ['c', branch, cseq.method].join(SEP);
}

/**
 * The server transaction a request belongs to (§17.2.3). An ACK yields the key of the INVITE
 * it acknowledges (with the cookie: the same branch and sent-by; RFC 2543: see `serverAckKey`).
 */
export function serverTransactionKey(request: SipRequest): TransactionKey | undefined {
  return serverKey(request, request.method === 'ACK' ? 'INVITE' : request.method, undefined);
}

/**
 * The key an ACK for `response` (sent by the INVITE server transaction of `invite`) will
 * have. With a magic-cookie branch it is `serverTransactionKey(invite)`; for an RFC 2543
 * INVITE without a To tag it differs (the ACK carries the response's To tag), and the driver
 * must index the transaction under it as well once the final response is sent.
 */
export function serverAckKey(invite: SipRequest, response: SipResponse): TransactionKey | undefined {
  const to = read(() => response.headers.to);
  return serverKey(invite, 'INVITE', to?.tag ?? '');
}

/**
 * The key of the transaction a CANCEL cancels (§9.2: match as if it were the request it
 * cancels): the CANCEL's own branch, sent-by (or RFC 2543 fields) with `method`, by default INVITE.
 */
export function cancelTargetKey(cancel: SipRequest, method = 'INVITE'): TransactionKey | undefined {
  return serverKey(cancel, method, undefined);
}

function serverKey(request: SipRequest, method: string, toTag: string | undefined): TransactionKey | undefined {
  const via = read(() => request.headers.topVia);
  if (via === undefined) return undefined;
  const branch = via.branch;
  if (hasMagicCookie(branch)) {
    // §17.2.3: branch, sent-by and method
    return ['s', branch.toLowerCase(), `${via.host.toLowerCase()}:${via.port ?? ''}`, method].join(SEP);
  }
  // §17.2.3 for RFC 2543 peers
  const h = request.headers;
  const from = read(() => h.from);
  const to = read(() => h.to);
  const callId = read(() => h.callId);
  const cseq = read(() => h.cseq);
  if (from === undefined || to === undefined || callId === undefined || cseq === undefined) return undefined;
  return [
    'r', request.uri.toString(), toTag ?? to.tag ?? '', from.tag ?? '', callId, String(cseq.seq), method, viaIdentity(via),
  ].join(SEP);
}

/** A Via in a form where equal Vias are equal strings: case folded, parameters sorted. */
function viaIdentity(via: Via): string {
  const params = via.params
    .map((p) => (p.value === null ? p.name.toLowerCase() : `${p.name.toLowerCase()}=${p.value.toLowerCase()}`))
    .sort();
  const proto = `${via.protocol}/${via.version}/${via.transport}`.toUpperCase();
  return `${proto} ${via.host.toLowerCase()}:${via.port ?? ''};${params.join(';')}`;
}
