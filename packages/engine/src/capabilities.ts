/** The methods the engine handles (REFER arrives with the transfer issue). */
export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, NOTIFY, MESSAGE';
/** The extensions it implements: RFC 4028 session timers. */
export const SUPPORTED = 'timer';
