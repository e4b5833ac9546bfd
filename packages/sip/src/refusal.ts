import { randomToken } from './builders.js';
import { asBuffer, findHeaderEnd } from './parser.js';

const COPIED: Readonly<Record<string, string>> = {
  via: 'Via', v: 'Via', from: 'From', f: 'From', to: 'To', t: 'To', 'call-id': 'Call-ID', i: 'Call-ID', cseq: 'CSeq',
};

/**
 * A response that refuses a request without a model of it: a `400 <reason>` (or 505, 513)
 * for one that could not be parsed, or the 481/503 a transport node answers without
 * forwarding. Built from the header lines as written: Via, From, To (tagged), Call-ID and
 * CSeq copied so the sender can match it (RFC 3261 §8.2.6). Undefined when the bytes are a
 * response, an ACK, or no request line can be read: those are dropped, never answered.
 */
export function createRefusal(
  data: Uint8Array,
  status: number,
  reason: string,
  extraHeaders: readonly (readonly [string, string])[] = [],
): Buffer | undefined {
  const buf = asBuffer(data);
  // RFC 3261 §7.5: CRLFs before the request line are ignored, not taken for the end of the header section
  let skip = 0;
  while (skip < buf.length && (buf[skip] === 13 || buf[skip] === 10)) skip++;
  let { headEnd } = findHeaderEnd(buf, skip);
  if (headEnd === -1) headEnd = Math.min(buf.length, 8192);
  const head = buf.toString('latin1', 0, headEnd);
  const lines = head.split(/\r?\n/);
  let first = 0;
  while (first < lines.length && lines[first] === '') first++;
  const start = lines[first] ?? '';
  // a request line, however malformed after its method, is answered; a response never is
  if (/^SIP\//i.test(start) || !/^[A-Za-z0-9!%*_+`'~.-]+[ \t]/.test(start)) return undefined;
  if (/^ACK[ \t]/.test(start)) return undefined; // an ACK is never answered (RFC 3261 §17.2.3)

  let out = `SIP/2.0 ${status} ${reason.replace(/[\r\n]/g, ' ')}\r\n`;
  let current: string | undefined;
  for (let i = first + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') break;
    if (line[0] === ' ' || line[0] === '\t') {
      if (current !== undefined) out = out.slice(0, -2) + ' ' + line.trim() + '\r\n';
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon === -1 ? undefined : COPIED[line.slice(0, colon).trim().toLowerCase()];
    current = name;
    if (name === undefined) continue;
    let value = line.slice(colon + 1).trim();
    if (name === 'To' && !/;\s*tag\s*=/i.test(value)) value += `;tag=${randomToken()}`;
    out += `${name}: ${value}\r\n`;
  }
  for (const [name, value] of extraHeaders) out += `${name}: ${value}\r\n`;
  out += 'Content-Length: 0\r\n\r\n';
  return Buffer.from(out, 'latin1');
}
