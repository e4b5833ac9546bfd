// Keeping the SDP origin (o=) consistent toward one party when the SDP it receives starts coming
// from a different far end after a transfer. RFC 3264 §8: every later offer of a session keeps
// the o= line of the previous one and increments its version by one; an unchanged version means
// an identical SDP. The rest of the SDP is passed through byte for byte.

/** The fields of `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 §5.2). */
export interface SdpOrigin {
  username: string;
  sessionId: string;
  /** Unbounded decimal in the grammar (RFC 8866 §5.2 suggests NTP time stamps): a bigint, never a number. */
  version: bigint;
  netType: string;
  addrType: string;
  address: string;
}

const LF = 0x0a;
const CR = 0x0d;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Byte offsets of the session-level o= line's text (without its line ending). */
interface LineSpan {
  start: number;
  end: number;
}

/** The session-level o= line: the first line starting `o=` before any `m=` line. */
function findOriginLine(bytes: Uint8Array): LineSpan | undefined {
  let start = 0;
  while (start < bytes.length) {
    let next = bytes.indexOf(LF, start);
    if (next === -1) next = bytes.length;
    const end = next > start && bytes[next - 1] === CR ? next - 1 : next;
    if (bytes[start + 1] === 0x3d /* = */) {
      if (bytes[start] === 0x6f /* o */) return { start, end };
      if (bytes[start] === 0x6d /* m */) return undefined; // o= is session-level only
    }
    start = next + 1;
  }
  return undefined;
}

function parseOriginText(text: string): SdpOrigin | undefined {
  const fields = text.split(' ');
  if (fields.length !== 6 || fields.some((f) => f.length === 0)) return undefined;
  const [username, sessionId, version, netType, addrType, address] = fields as [string, string, string, string, string, string];
  if (!/^[0-9]+$/.test(version)) return undefined;
  return { username, sessionId, version: BigInt(version), netType, addrType, address };
}

function originLine(o: SdpOrigin): string {
  return `o=${o.username} ${o.sessionId} ${o.version} ${o.netType} ${o.addrType} ${o.address}`;
}

/** The session's origin, or undefined when there is no o= line or it does not have the six fields with a numeric version. */
export function readOrigin(sdp: Uint8Array | string): SdpOrigin | undefined {
  const bytes = typeof sdp === 'string' ? encoder.encode(sdp) : sdp;
  const span = findOriginLine(bytes);
  if (span === undefined) return undefined;
  return parseOriginText(decoder.decode(bytes.subarray(span.start + 2, span.end)));
}

/**
 * A copy of `sdp` whose o= line is `keep` with version `keep.version + 1n` (the rest untouched,
 * line endings preserved); returns the new SDP and the origin now shown. Without an o= line,
 * returns the input unchanged (the same array) and `keep` as the origin shown.
 */
export function withOrigin(sdp: Uint8Array, keep: SdpOrigin): { sdp: Uint8Array; origin: SdpOrigin } {
  const span = findOriginLine(sdp);
  if (span === undefined) return { sdp, origin: keep };
  const origin: SdpOrigin = { ...keep, version: keep.version + 1n };
  return { sdp: splice(sdp, span, encoder.encode(originLine(origin))), origin };
}

function splice(bytes: Uint8Array, span: LineSpan, line: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - (span.end - span.start) + line.length);
  out.set(bytes.subarray(0, span.start), 0);
  out.set(line, span.start);
  out.set(bytes.subarray(span.end), span.start + line.length);
  return out;
}

function sameSession(a: SdpOrigin, b: SdpOrigin): boolean {
  return a.username === b.username && a.sessionId === b.sessionId && a.netType === b.netType
    && a.addrType === b.addrType && a.address === b.address;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The origin one party has seen, kept across far-end changes. `show(sdp)` returns what to send it:
 * - the first SDP: unchanged, and its origin remembered;
 * - a later SDP from the same origin (all fields but the version equal to the one shown): passed
 *   through when its version is greater than the last shown, else given version last+1;
 * - a later SDP from another origin (the new far end after a transfer): rewritten to the origin
 *   shown, version last+1;
 * - an SDP byte-identical to the previous one received: what was shown for it last time
 *   (RFC 3264 §8: the same version means the same SDP; a session refresh must not look like a change);
 * - an SDP without an o= line: unchanged, and the origin shown stays as it was.
 */
export class OriginKeeper {
  private shown: SdpOrigin | undefined;
  private lastReceived: Uint8Array | undefined;
  private lastSent: Uint8Array | undefined;

  get origin(): SdpOrigin | undefined {
    return this.shown;
  }

  /** What it was last passed and what it showed for it; undefined before the first SDP. */
  toJSON(): { received: Uint8Array; sent: Uint8Array } | undefined {
    return this.lastReceived === undefined || this.lastSent === undefined ? undefined : { received: this.lastReceived, sent: this.lastSent };
  }

  /** The keeper of a snapshot: it shows the origin of what it sent last, and knows that SDP again. */
  static fromJSON(s: { received: Uint8Array; sent: Uint8Array }): OriginKeeper {
    const keeper = new OriginKeeper();
    keeper.shown = readOrigin(s.sent);
    keeper.lastReceived = s.received.slice();
    keeper.lastSent = s.sent.slice();
    return keeper;
  }

  show(sdp: Uint8Array): Uint8Array {
    if (this.lastReceived !== undefined && this.lastSent !== undefined && sameBytes(sdp, this.lastReceived)) {
      return this.lastSent;
    }
    const sent = this.rewrite(sdp);
    // Copies: the caller may reuse its buffer for the next SDP.
    this.lastReceived = sdp.slice();
    this.lastSent = sent === sdp ? this.lastReceived : sent;
    return sent;
  }

  private rewrite(sdp: Uint8Array): Uint8Array {
    const shown = this.shown;
    const incoming = readOrigin(sdp);
    if (shown === undefined) {
      this.shown = incoming;
      return sdp;
    }
    if (incoming !== undefined && sameSession(incoming, shown) && incoming.version > shown.version) {
      this.shown = incoming;
      return sdp;
    }
    // Another origin, an unreadable o= line, or the same origin without a higher version.
    const next = withOrigin(sdp, shown);
    this.shown = next.origin;
    return next.sdp;
  }
}
