import { parseMessage, SipParseError, validateMessage, type SipRequest } from '@switchboard/sip';

/** Parses and validates a request; the fault to answer with, or the message. */
export function checkRequest(data: Buffer): { fault: SipParseError } | { request: SipRequest } {
  try {
    const msg = parseMessage(data);
    const fault = validateMessage(msg);
    return fault === undefined ? { request: msg as SipRequest } : { fault };
  } catch (err) {
    if (err instanceof SipParseError) return { fault: err };
    throw err;
  }
}
