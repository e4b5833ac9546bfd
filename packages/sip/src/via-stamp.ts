import { HeaderValueError } from './errors.js';
import { asBuffer, findHeaderEnd } from './parser.js';
import { splitTopLevel } from './params.js';
import { parseVia, type Via } from './via.js';

/** Whether a received request's top Via needs `received`/`rport` (RFC 3261 §18.2.1, RFC 3581 §4). */
export function viaNeedsStamp(via: Via, sourceAddress: string): boolean {
  if (via.rport !== undefined) return true;
  const h = via.host.startsWith('[') ? via.host.slice(1, -1) : via.host;
  return h.toLowerCase() !== sourceAddress.toLowerCase();
}

/**
 * Stamps the top Via of a received request as the server transport must: `received` when
 * the sent-by host is not the source address (RFC 3261 §18.2.1), `rport` filled in with the
 * source port, plus `received`, when the client asked for it (RFC 3581 §4). Only that Via
 * value is rewritten; every other byte is kept. Returns `data` itself when nothing changes
 * or the Via cannot be read (the full parser will refuse it).
 */
export function stampVia(data: Uint8Array, sourceAddress: string, sourcePort: number): Uint8Array {
  const buf = asBuffer(data);
  // RFC 3261 §7.5: CRLFs before the start-line are ignored (as parseMessage does), not taken for the empty line
  let start = 0;
  while (start < buf.length && (buf[start] === 13 || buf[start] === 10)) start++;
  let { headEnd } = findHeaderEnd(buf, start);
  if (headEnd === -1) headEnd = buf.length;
  const head = buf.toString('latin1', 0, headEnd); // latin1: string offsets are byte offsets
  let pos = head.indexOf('\n', start) + 1;
  while (pos > 0 && pos < head.length) {
    let end = head.indexOf('\n', pos);
    if (end === -1) end = head.length;
    const colon = head.indexOf(':', pos);
    const c = head.charCodeAt(pos) | 0x20;
    if (c === 118 /* v */ && colon !== -1 && colon < end) {
      const name = head.slice(pos, colon).trim().toLowerCase();
      if (name === 'via' || name === 'v') {
        // the whole header, with its continuation lines
        while (end < head.length && (head.charCodeAt(end + 1) === 32 || head.charCodeAt(end + 1) === 9)) {
          const next = head.indexOf('\n', end + 1);
          end = next === -1 ? head.length : next;
        }
        const valueEnd = end > 0 && head.charCodeAt(end - 1) === 13 ? end - 1 : end;
        return rewrite(buf, colon + 1, valueEnd, head.slice(colon + 1, valueEnd), sourceAddress, sourcePort);
      }
    }
    pos = end + 1;
  }
  return data;
}

function rewrite(buf: Buffer, from: number, to: number, value: string, address: string, port: number): Uint8Array {
  let parts: string[];
  let via;
  try {
    parts = splitTopLevel(value.replace(/\r?\n[ \t]+/g, ' '), 44);
    via = parseVia(parts[0] as string);
  } catch (err) {
    if (err instanceof HeaderValueError) return buf;
    throw err;
  }
  if (!viaNeedsStamp(via, address)) return buf;
  const wantsRport = via.rport !== undefined;
  let stamped = via.withParam('received', address);
  if (wantsRport) stamped = stamped.withParam('rport', String(port));
  const text = ' ' + [stamped.toString(), ...parts.slice(1)].join(',');
  return Buffer.concat([buf.subarray(0, from), Buffer.from(text, 'latin1'), buf.subarray(to)]);
}
