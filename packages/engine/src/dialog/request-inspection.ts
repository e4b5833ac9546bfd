// What RFC 3261 §8.2.1–§8.2.2 has a UAS check before it acts on any request: the method, the
// Request-URI scheme, the extensions the request requires. A pure function of the request.
import { SipParseError, SipUri, TelUri, type SipRequest } from '@switchboard/sip';
import { SUPPORTED } from './capabilities.js';

/** The answer to a request refused on inspection: its status and the headers that say why. */
export interface InspectionRefusal {
  status: 400 | 416 | 420 | 501;
  /** What was wrong, for the worker's counters (`refused.<cause>`). */
  cause: 'unknown-method' | 'unsupported-uri-scheme' | 'unreadable-require' | 'bad-extension';
  /** The reason phrase, when the status's default would not say what is wrong. */
  reason?: string;
  headers: [string, string][];
}

/**
 * The methods of the SIP standards (the IANA registry): one of these that we do not handle is
 * "not allowed here" (405 with Allow, answered where the request lands); any other is unknown.
 */
const KNOWN_METHODS = new Set([
  'INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE',
]);

const SUPPORTED_OPTIONS = new Set(SUPPORTED.split(',').map((tag) => tag.trim().toLowerCase()));

/**
 * Undefined when the request may go on to its dialog or a new call; else why it is refused, in
 * the order of §8.2: an unknown method (501, §8.2.1), a Request-URI that is neither SIP, SIPS nor
 * tel (416, §8.2.2.1), a Require naming an option we do not implement (420 with Unsupported
 * listing those options, §8.2.2.3). ACK is never answered, so never inspected; a CANCEL's Require
 * is ignored (§8.2.2.3). Proxy-Require is for proxies (§20.29): the engine is the UAS of every
 * request it receives, so it does not read it.
 */
export function inspectRequest(req: SipRequest): InspectionRefusal | undefined {
  if (req.method === 'ACK') return undefined;
  if (!KNOWN_METHODS.has(req.method)) return { status: 501, cause: 'unknown-method', headers: [] };
  if (!(req.uri instanceof SipUri || req.uri instanceof TelUri)) return { status: 416, cause: 'unsupported-uri-scheme', headers: [] };
  if (req.method === 'CANCEL') return undefined;
  let required: readonly string[];
  try {
    required = req.headers.require;
  } catch (err) {
    // the transport parses only the headers every element reads; Require is read here first
    if (err instanceof SipParseError) return { status: 400, cause: 'unreadable-require', reason: err.reason, headers: [] };
    throw err;
  }
  const unsupported = required.filter((tag) => !SUPPORTED_OPTIONS.has(tag.toLowerCase()));
  if (unsupported.length > 0) return { status: 420, cause: 'bad-extension', headers: [['Unsupported', unsupported.join(', ')]] };
  return undefined;
}
