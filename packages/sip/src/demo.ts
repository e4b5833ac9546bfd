// Prints the SIP layer's version and what it reads from a sample INVITE: the README's start
// command runs this until the local cluster exists.
import { parseMessage, readRoutingFields, serializeMessage, SIP_PACKAGE_VERSION, validateMessage } from './mod.js';

const sample = Buffer.from(
  'INVITE sip:+14155550100@acme.trunks.example SIP/2.0\r\n' +
    'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-demo-1;rport\r\n' +
    'Max-Forwards: 70\r\n' +
    'From: "Front Desk" <sip:+12125550123@pbx.acme.example>;tag=a73kszlfl\r\n' +
    'To: <sip:+14155550100@acme.trunks.example>\r\n' +
    'Call-ID: 1j9FpLxk3uxtm8tn@198.51.100.7\r\n' +
    'CSeq: 1 INVITE\r\n' +
    'Contact: <sip:frontdesk@198.51.100.7:5060>\r\n' +
    'Content-Type: application/sdp\r\n' +
    'Content-Length: 0\r\n\r\n',
);

const msg = parseMessage(sample);
const fields = readRoutingFields(sample);
console.log(`@switchboard/sip ${SIP_PACKAGE_VERSION}`);
console.log(`parsed: ${msg.kind === 'request' ? msg.startLine : msg.status}`);
console.log(`valid: ${validateMessage(msg) === undefined ? 'yes' : 'no'}`);
console.log(`routing fields: ${JSON.stringify(fields)}`);
console.log(`round trip: ${serializeMessage(msg).length} bytes`);
