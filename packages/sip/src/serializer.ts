import type { SipMessage } from './message.js';

/**
 * The wire bytes of `msg`: start line, headers in order with names as written, a
 * Content-Length that is always the body's true length (RFC 3261 §18.3), the body octets.
 */
export function serializeMessage(msg: SipMessage): Buffer {
  let head = msg.startLine + '\r\n';
  let sawLength = false;
  const bodyLength = msg.body.length;
  msg.headers.forEachEntry((name, value, key) => {
    if (key === 'content-length') {
      if (!sawLength) head += name + ': ' + bodyLength + '\r\n';
      sawLength = true;
    } else head += name + ': ' + value + '\r\n';
  });
  if (!sawLength) head += 'Content-Length: ' + bodyLength + '\r\n';
  head += '\r\n';
  const encoding = msg.headerEncoding;
  const headLength = Buffer.byteLength(head, encoding);
  const out = Buffer.allocUnsafe(headLength + bodyLength);
  out.write(head, 0, encoding);
  out.set(msg.body, headLength);
  return out;
}
