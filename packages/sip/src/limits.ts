/** Bounds that keep a hostile or broken peer from costing a process more than a message's worth. */
export interface SipLimits {
  /** Largest message accepted, header section and body together (RFC 3261 §18.1.1 UDP ceiling). */
  maxMessageBytes: number;
  /** Most header lines (after unfolding) in one message. */
  maxHeaders: number;
  /** Longest header line after unfolding, in characters. */
  maxHeaderLineLength: number;
}

export const DEFAULT_LIMITS: Readonly<SipLimits> = Object.freeze({
  maxMessageBytes: 65_535,
  maxHeaders: 256,
  maxHeaderLineLength: 8_192,
});
