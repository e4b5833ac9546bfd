// A SIP message on the wire for the parser's tests: the usual INVITE, its variants, and what parsing them gives.
import assert from 'node:assert/strict';
import { SipParseError } from '../errors.js';
import { SipRequest, SipResponse } from '../message.js';
import { parseMessage, type ParseOptions } from '../parser.js';

export const CRLF = '\r\n';

/** Header lines plus an optional body, as one datagram (CRLF line ends, empty line, body). */
export function wire(lines: readonly string[], body: string | Buffer = ''): Buffer {
  return Buffer.concat([Buffer.from(lines.join(CRLF) + CRLF + CRLF, 'utf8'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')]);
}

export const START = 'INVITE sip:bob@biloxi.example.com SIP/2.0';
export const HEADERS = [
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
];
export const RESPONSE_HEADERS = HEADERS.filter((h) => !h.startsWith('Max-Forwards'));

/** A well-formed INVITE with `extra` header lines appended, `Content-Length` last unless `length` is null. */
export function invite(extra: readonly string[] = [], body = '', length: number | null = Buffer.byteLength(body)): Buffer {
  const lines = [START, ...HEADERS, ...extra];
  if (length !== null) lines.push(`Content-Length: ${length}`);
  return wire(lines, body);
}

/** A request whose start line is `start` (the usual headers follow). */
export function withStart(start: string, headers: readonly string[] = HEADERS): Buffer {
  return wire([start, ...headers, 'Content-Length: 0']);
}

/** A request that differs from the usual INVITE only by `headers`. */
export function withHeaders(headers: readonly string[]): Buffer {
  return wire([START, ...headers, 'Content-Length: 0']);
}

export function request(data: Uint8Array, options?: ParseOptions): SipRequest {
  const m = parseMessage(data, options);
  assert.ok(m instanceof SipRequest, 'not a request');
  return m;
}

export function response(data: Uint8Array, options?: ParseOptions): SipResponse {
  const m = parseMessage(data, options);
  assert.ok(m instanceof SipResponse, 'not a response');
  return m;
}

/** The SipParseError `fn` throws (failing when it throws nothing or something else). */
function errorOf(fn: () => unknown): SipParseError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SipParseError, `not a SipParseError: ${String(err)}`);
    return err;
  }
  assert.fail('no error was thrown');
}

export const refusal = (data: Uint8Array, options?: ParseOptions) => errorOf(() => parseMessage(data, options));
