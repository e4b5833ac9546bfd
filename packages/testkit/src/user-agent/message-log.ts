import type { SipMessage } from '@switchboard/sip';
import type { SipTransport } from './options.js';

/** A message as the UA sent or received it. */
export interface LogEntry {
  dir: 'in' | 'out';
  /** Date.now() when it was written to or read from the socket. */
  at: number;
  message: SipMessage;
  raw: Buffer;
  transport: SipTransport;
  /** The peer: destination of an 'out' entry, source of an 'in' one. */
  remote: { host: string; port: number };
  /**
   * 'out': a retransmission of bytes already sent. 'in': a request that matched a server
   * transaction already under way, or a final response after its transaction's first one.
   */
  retransmission: boolean;
}

/** Selects log entries; every given field must match. */
export interface LogFilter {
  dir?: 'in' | 'out';
  /** Requests of this method (responses never match). */
  method?: string;
  /** Responses with this status, or whose status the function accepts (requests never match). */
  status?: number | ((status: number) => boolean);
  /** The CSeq method: 'INVITE' with `status` picks the responses to INVITE. */
  cseqMethod?: string;
  callId?: string;
  retransmission?: boolean;
}

export type LogMatch = LogFilter | ((e: LogEntry) => boolean);

/** One line per message: start line, CSeq, Call-ID. */
export function summarize(m: SipMessage): string {
  const cseq = m.headers.get('cseq') ?? '?';
  const callId = m.headers.get('call-id') ?? '?';
  return `${m.startLine}  [CSeq ${cseq}; Call-ID ${callId}]`;
}

export function matches(e: LogEntry, f: LogMatch): boolean {
  if (typeof f === 'function') return f(e);
  const m = e.message;
  if (f.dir !== undefined && e.dir !== f.dir) return false;
  if (f.retransmission !== undefined && e.retransmission !== f.retransmission) return false;
  if (f.method !== undefined && (m.kind !== 'request' || m.method !== f.method)) return false;
  if (f.status !== undefined) {
    if (m.kind !== 'response') return false;
    if (typeof f.status === 'number' ? m.status !== f.status : !f.status(m.status)) return false;
  }
  if (f.cseqMethod !== undefined && m.headers.cseq?.method !== f.cseqMethod) return false;
  if (f.callId !== undefined && m.headers.get('call-id') !== f.callId) return false;
  return true;
}
