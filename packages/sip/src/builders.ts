import { randomBytes } from 'node:crypto';
import { CSeq } from './cseq.js';
import { Headers, type HeaderInput } from './headers.js';
import { SipRequest, SipResponse } from './message.js';
import { NameAddr } from './name-addr.js';
import { SipUri, type Uri } from './uri.js';
import type { Via } from './via.js';

/** A random token fit for a tag or the unique part of a branch (RFC 3261 §19.3: at least 32 bits). */
export function randomToken(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);
const TARGET_METHODS = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER']);

export interface ResponseOptions {
  reason?: string;
  /** The To tag to add when the request has none; a random one otherwise (not for 100, §8.2.6.2). */
  toTag?: string;
  headers?: Iterable<readonly [string, HeaderInput]>;
  body?: Uint8Array;
  contentType?: string;
}

/**
 * A response to `req` as RFC 3261 §8.2.6 builds it: Via (all, in order), From, Call-ID and
 * CSeq copied; To copied with a tag added when it had none (except on 100 Trying); Timestamp
 * echoed on 100 (§8.2.6.1); Record-Route copied on responses that can create a dialog (§12.1.1).
 */
export function createResponse(req: SipRequest, status: number, opts: ResponseOptions = {}): SipResponse {
  const h = new Headers();
  const src = req.headers;
  for (const v of src.getAll('via')) h.add('Via', v);
  const from = src.get('from');
  if (from !== undefined) h.add('From', from);
  const to = src.to;
  if (to !== undefined) {
    h.add('To', to.tag === undefined && status > 100 ? to.withTag(opts.toTag ?? randomToken()) : (src.get('to') as string));
  }
  const callId = src.get('call-id');
  if (callId !== undefined) h.add('Call-ID', callId);
  const cseq = src.get('cseq');
  if (cseq !== undefined) h.add('CSeq', cseq);
  if (status === 100) for (const t of src.getAll('timestamp')) h.add('Timestamp', t);
  if (status > 100 && status < 300 && DIALOG_CREATING.has(req.method)) {
    for (const rr of src.getAll('record-route')) h.add('Record-Route', rr);
  }
  for (const [name, value] of opts.headers ?? []) h.add(name, value);
  if (opts.body !== undefined && opts.contentType !== undefined) h.set('Content-Type', opts.contentType);
  return new SipResponse({ status, reason: opts.reason, headers: h, body: opts.body, headerEncoding: req.headerEncoding });
}

export interface RequestOptions {
  method: string;
  uri: Uri;
  via: Via | string;
  from: NameAddr;
  to: NameAddr;
  callId: string;
  cseq: number;
  contact?: NameAddr;
  route?: readonly NameAddr[];
  maxForwards?: number;
  headers?: Iterable<readonly [string, HeaderInput]>;
  body?: Uint8Array;
  contentType?: string;
}

/** A request with the mandatory headers of RFC 3261 §8.1.1 in the conventional order. */
export function createRequest(o: RequestOptions): SipRequest {
  const h = new Headers();
  h.add('Via', o.via);
  h.add('Max-Forwards', o.maxForwards ?? 70);
  for (const r of o.route ?? []) h.add('Route', r);
  h.add('From', o.from);
  h.add('To', o.to);
  h.add('Call-ID', o.callId);
  h.add('CSeq', new CSeq(o.cseq, o.method));
  if (o.contact !== undefined) h.add('Contact', o.contact);
  for (const [name, value] of o.headers ?? []) h.add(name, value);
  if (o.body !== undefined && o.contentType !== undefined) h.set('Content-Type', o.contentType);
  return new SipRequest({ method: o.method, uri: o.uri, headers: h, body: o.body });
}

/** What a dialog knows that its requests need (RFC 3261 §12.2.1.1). */
export interface DialogRequestContext {
  callId: string;
  local: NameAddr; // our URI with our tag
  remote: NameAddr; // the peer's URI with its tag (absent only in an early dialog's first request)
  remoteTarget: Uri;
  /** Route set in the order the request must carry it. */
  routeSet: readonly NameAddr[];
  contact?: NameAddr;
}

/**
 * A request inside a dialog (RFC 3261 §12.2.1.1): loose routing puts the remote target in
 * the Request-URI and the route set in Route; a strict first route (no `lr`) becomes the
 * Request-URI and the remote target goes last in Route.
 */
export function createInDialogRequest(
  d: DialogRequestContext,
  method: string,
  o: { via: Via | string; cseq: number; headers?: Iterable<readonly [string, HeaderInput]>; body?: Uint8Array; contentType?: string },
): SipRequest {
  let uri: Uri = d.remoteTarget;
  let route: NameAddr[] = d.routeSet.slice();
  const first = route[0];
  if (first !== undefined && first.uri instanceof SipUri && first.uri.param('lr') === undefined) {
    // §12.2.1.1: strip parameters not allowed in a Request-URI (method, maddr is allowed; headers not)
    uri = first.uri.with({ headers: [] });
    route = route.slice(1);
    route.push(new NameAddr(d.remoteTarget));
  }
  // Contact only where it refreshes or establishes the target (RFC 3261 Table 3, RFC 3311, RFC 6665)
  const contact = TARGET_METHODS.has(method) ? d.contact : undefined;
  return createRequest({
    method, uri, via: o.via, from: d.local, to: d.remote, callId: d.callId, cseq: o.cseq, route,
    contact, headers: o.headers, body: o.body, contentType: o.contentType,
  });
}

/**
 * The ACK for a non-2xx final response to `invite` (RFC 3261 §17.1.1.3): the INVITE's
 * Request-URI, top Via, Call-ID, From and Route; the response's To; CSeq number with ACK.
 */
export function createAck(invite: SipRequest, response: SipResponse): SipRequest {
  const src = invite.headers;
  const h = new Headers();
  if (src.topVia !== undefined) h.add('Via', src.topVia);
  h.add('Max-Forwards', 70);
  for (const r of src.getAll('route')) h.add('Route', r);
  h.add('From', src.get('from') ?? '');
  h.add('To', response.headers.get('to') ?? src.get('to') ?? '');
  h.add('Call-ID', src.get('call-id') ?? '');
  h.add('CSeq', new CSeq(src.cseq?.seq ?? 0, 'ACK'));
  return new SipRequest({ method: 'ACK', uri: invite.uri, headers: h, headerEncoding: invite.headerEncoding });
}

/**
 * The CANCEL for `request` (RFC 3261 §9.1): same Request-URI, Call-ID, To, From and CSeq
 * number, a single Via equal to the request's top Via (so it matches the same server
 * transaction), the request's Route.
 */
export function createCancel(request: SipRequest): SipRequest {
  const src = request.headers;
  const h = new Headers();
  if (src.topVia !== undefined) h.add('Via', src.topVia);
  h.add('Max-Forwards', 70);
  for (const r of src.getAll('route')) h.add('Route', r);
  h.add('From', src.get('from') ?? '');
  h.add('To', src.get('to') ?? '');
  h.add('Call-ID', src.get('call-id') ?? '');
  h.add('CSeq', new CSeq(src.cseq?.seq ?? 0, 'CANCEL'));
  return new SipRequest({ method: 'CANCEL', uri: request.uri, headers: h, headerEncoding: request.headerEncoding });
}
