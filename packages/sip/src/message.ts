import { Headers } from './headers.js';
import type { Uri } from './uri.js';

/** How the header section is encoded: UTF-8 (RFC 3261 §7.3.1), or Latin-1 kept byte-exact for old peers. */
export type HeaderEncoding = 'utf8' | 'latin1';

const EMPTY = new Uint8Array(0);

export class SipRequest {
  readonly kind = 'request' as const;
  method: string;
  uri: Uri;
  headers: Headers;
  body: Uint8Array;
  headerEncoding: HeaderEncoding;

  constructor(init: { method: string; uri: Uri; headers?: Headers; body?: Uint8Array; headerEncoding?: HeaderEncoding }) {
    this.method = init.method;
    this.uri = init.uri;
    this.headers = init.headers ?? new Headers();
    this.body = init.body ?? EMPTY;
    this.headerEncoding = init.headerEncoding ?? 'utf8';
  }

  get startLine(): string {
    return `${this.method} ${this.uri.toString()} SIP/2.0`;
  }
}

export class SipResponse {
  readonly kind = 'response' as const;
  status: number;
  reason: string;
  headers: Headers;
  body: Uint8Array;
  headerEncoding: HeaderEncoding;

  constructor(init: { status: number; reason?: string; headers?: Headers; body?: Uint8Array; headerEncoding?: HeaderEncoding }) {
    this.status = init.status;
    this.reason = init.reason ?? defaultReason(init.status);
    this.headers = init.headers ?? new Headers();
    this.body = init.body ?? EMPTY;
    this.headerEncoding = init.headerEncoding ?? 'utf8';
  }

  get startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}`;
  }
}

export type SipMessage = SipRequest | SipResponse;

const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 182: 'Queued', 183: 'Session Progress',
  199: 'Early Dialog Terminated', 200: 'OK', 202: 'Accepted', 204: 'No Notification',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily', 305: 'Use Proxy', 380: 'Alternative Service',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
  410: 'Gone', 413: 'Request Entity Too Large', 414: 'Request-URI Too Long', 415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme', 420: 'Bad Extension', 421: 'Extension Required', 422: 'Session Interval Too Small',
  423: 'Interval Too Brief', 480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected', 483: 'Too Many Hops', 484: 'Address Incomplete', 485: 'Ambiguous', 486: 'Busy Here',
  487: 'Request Terminated', 488: 'Not Acceptable Here', 489: 'Bad Event', 491: 'Request Pending',
  493: 'Undecipherable', 500: 'Server Internal Error', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Server Time-out', 505: 'Version Not Supported', 513: 'Message Too Large',
  600: 'Busy Everywhere', 603: 'Decline', 604: 'Does Not Exist Anywhere', 606: 'Not Acceptable',
};

/** The RFC's reason phrase for `status`, or a generic one for its class. */
export function defaultReason(status: number): string {
  return REASONS[status] ?? (['', 'Trying', 'OK', 'Redirect', 'Client Error', 'Server Error', 'Global Failure'][Math.floor(status / 100)] ?? 'Unknown');
}
