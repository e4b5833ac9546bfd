/** The methods the engine handles. */
export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, NOTIFY, MESSAGE, REFER';
/** The extensions it implements: RFC 4028 session timers, RFC 4488 Refer-Sub. */
export const SUPPORTED = 'timer, norefersub';
