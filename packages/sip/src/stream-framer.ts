import { SipParseError } from './errors.js';
import { DEFAULT_LIMITS, type SipLimits } from './limits.js';

export type FrameEvent =
  | { readonly type: 'message'; readonly data: Buffer }
  /** A CRLFCRLF keep-alive ping: answer it with one CRLF (RFC 5626 §4.4.1). */
  | { readonly type: 'ping' }
  /** The stream cannot be framed any further: answer if possible, then close the connection. */
  | { readonly type: 'error'; readonly error: SipParseError; readonly head: Buffer };

const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** The Content-Length (or `l`) of a header section in latin1, -1 when absent, -2 when malformed or repeated. */
function contentLengthOf(head: string): number {
  let found = -1;
  let pos = head.indexOf('\n') + 1;
  while (pos > 0 && pos < head.length) {
    let end = head.indexOf('\n', pos);
    if (end === -1) end = head.length;
    const c = head.charCodeAt(pos) | 0x20;
    if (c === 99 /* c */ || c === 108 /* l */) {
      const colon = head.indexOf(':', pos);
      if (colon !== -1 && colon < end) {
        const name = head.slice(pos, colon).trim().toLowerCase();
        if (name === 'content-length' || name === 'l') {
          if (found !== -1) return -2;
          const value = head.slice(colon + 1, end).trim();
          if (!/^\d{1,9}$/.test(value)) return -2;
          found = Number(value);
        }
      }
    }
    pos = end + 1;
  }
  return found;
}

/**
 * Cuts a SIP byte stream (TCP) into messages by Content-Length (RFC 3261 §18.3). Pure:
 * the transport feeds it what the socket reads and acts on the events.
 */
export class StreamFramer {
  private buffer: Buffer = EMPTY;
  private failed = false;
  private readonly limits: SipLimits;

  constructor(limits: Partial<SipLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Bytes received but not yet framed (a partial message). */
  get pending(): number {
    return this.buffer.length;
  }

  push(chunk: Buffer): FrameEvent[] {
    if (this.failed) return [];
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const events: FrameEvent[] = [];
    for (;;) {
      const b = this.buffer;
      // Between messages: CRLFCRLF is a keep-alive ping; a lone CRLF (a pong, or §7.5 padding) is skipped
      if (b.length >= 4 && b[0] === 13 && b[1] === 10 && b[2] === 13 && b[3] === 10) {
        events.push({ type: 'ping' });
        this.buffer = b.subarray(4);
        continue;
      }
      if (b.length >= 2 && b[0] === 13 && b[1] === 10) {
        // may be the start of a ping, even one split after its first CR
        if (b.length === 2 || (b.length === 3 && b[2] === 13)) break;
        this.buffer = b.subarray(2);
        continue;
      }
      if (b.length > 0 && b[0] === 10) {
        this.buffer = b.subarray(1);
        continue;
      }
      if (b.length === 0) break;
      const headEnd = b.indexOf(CRLFCRLF);
      if (headEnd === -1) {
        if (b.length > this.limits.maxMessageBytes) return this.fail(events, 'message-too-large', 'Message Too Large', 513, b);
        break;
      }
      const head = b.subarray(0, headEnd + 2);
      const length = contentLengthOf(head.toString('latin1'));
      if (length === -1) return this.fail(events, 'bad-content-length', 'Missing Content-Length', 400, head);
      if (length === -2) return this.fail(events, 'bad-content-length', 'Bad Content-Length', 400, head);
      const total = headEnd + 4 + length;
      if (total > this.limits.maxMessageBytes) return this.fail(events, 'message-too-large', 'Message Too Large', 513, head);
      if (b.length < total) break;
      // copy out, so a retained message does not pin the connection's buffer
      events.push({ type: 'message', data: Buffer.from(b.subarray(0, total)) });
      this.buffer = b.subarray(total);
    }
    if (this.buffer.length === 0) this.buffer = EMPTY;
    return events;
  }

  private fail(events: FrameEvent[], code: 'bad-content-length' | 'message-too-large', reason: string, status: number, head: Buffer): FrameEvent[] {
    this.failed = true;
    this.buffer = EMPTY;
    events.push({ type: 'error', error: new SipParseError(code, reason, status), head: Buffer.from(head.subarray(0, 8192)) });
    return events;
  }
}
