// @switchboard/sip — the SIP message layer: pure, no I/O.
export { SipParseError, type SipParseErrorCode } from './errors.js';
export { DEFAULT_LIMITS, type SipLimits } from './limits.js';
export { SipRequest, SipResponse, defaultReason, type SipMessage, type HeaderEncoding } from './message.js';
export { Headers, headerKey, canonicalHeaderName, type HeaderInput } from './headers.js';
export { SipUri, TelUri, AbsoluteUri, parseUri, type Uri } from './uri.js';
export { NameAddr, parseNameAddr } from './name-addr.js';
export { detached } from './detached.js';
export { Via, parseVia, BRANCH_COOKIE } from './via.js';
export { CSeq, parseCSeq, MAX_CSEQ } from './cseq.js';
export { ParamValue, DeltaSeconds, Replaces, parseReplaces } from './values.js';
export { getParam, withParam, quote, unquote, type Param } from './params.js';
export { escapeUser, unescapePercent } from './grammar.js';
export { parseMessage, validateMessage, type ParseOptions } from './parser.js';
export { serializeMessage } from './serializer.js';
export { readRoutingFields, routingFieldsOf, looksLikeResponse, type RoutingFields } from './routing-fields.js';
export {
  createResponse, createRequest, createInDialogRequest, createAck, createCancel, randomToken,
  type ResponseOptions, type RequestOptions, type DialogRequestContext,
} from './builders.js';

export const SIP_PACKAGE_VERSION = '0.1.0';
export { StreamFramer, type FrameEvent } from './stream-framer.js';
export { createRefusal } from './refusal.js';
export { stampVia, viaNeedsStamp } from './via-stamp.js';
