/** Which rule a message broke. Exhaustive: callers may `switch (err.code)`. */
export type SipParseErrorCode =
  | 'message-too-large'
  | 'too-many-headers'
  | 'header-line-too-long'
  | 'incomplete-header-section'
  | 'bad-start-line'
  | 'bad-version'
  | 'bad-method'
  | 'bad-request-uri'
  | 'bad-status-code'
  | 'bad-header-line'
  | 'bad-header-value'
  | 'bad-characters'
  | 'bad-content-length'
  | 'body-truncated'
  | 'missing-header'
  | 'duplicate-header'
  | 'cseq-method-mismatch';

/**
 * A message that cannot be accepted. `reason` is a short phrase fit to send back as
 * the reason of a `400` (or `status`, e.g. 505 for an unsupported SIP version).
 */
export class SipParseError extends Error {
  override readonly name = 'SipParseError';
  constructor(
    readonly code: SipParseErrorCode,
    readonly reason: string,
    readonly status: number = 400,
    /** The header whose value broke a rule, as it is named canonically. */
    readonly header?: string,
  ) {
    super(reason);
  }
}

/** Thrown by the value parsers; the message parser turns it into a `Bad <Header>` error. */
export class HeaderValueError extends Error {
  override readonly name = 'HeaderValueError';
}

export function badHeader(header: string): SipParseError {
  return new SipParseError('bad-header-value', `Bad ${header}`, 400, header);
}
