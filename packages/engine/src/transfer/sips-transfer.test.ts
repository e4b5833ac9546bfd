// A `sips:` Refer-To (issue 19 part 1): the new leg is placed over TLS to the hop RFC 3263 gives
// for `_sips._tcp`, verified against the referred domain; a target that cannot do TLS is never
// reached over a weaker transport, and the transferor hears why in the final NOTIFY's sipfrag.
// The PBX's call came in over TLS, so the node names a TLS listener the new leg can leave by.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readRoutingFields, serializeMessage, SipRequest, type SipMessage } from '@switchboard/sip';
import type { InboundSip, ListenerAddress } from '@switchboard/wire';
import { A_PORT, B_PORT, answer, deliver, fromA, inviteFromA, isReq, settle } from '../testing/harness.js';
import { SDP_B, SDP_C, bodyOf, engineWith, takeOne, takeResponse, trunking, type Call, type Harness } from '../testing/transfer-fixtures.js';
import { SipLocator, type DnsResolver } from '../locate/sip-locator.js';

const LISTENERS: Record<'udp' | 'tcp' | 'tls', ListenerAddress> = {
  udp: { address: '192.0.2.1', port: 5060 }, tcp: { address: '192.0.2.1', port: 5060 }, tls: { address: '192.0.2.1', port: 5061 },
};
const SECURE = { domain: 'secure.example', srvTarget: 'sip-tls.secure.example', host: '127.0.0.52', port: 5061 };
const PLAIN = { domain: 'plain.example', host: '127.0.0.53', port: 5090 };

/** DNS for the tests: `secure.example` offers SIP over TLS (`_sips._tcp`) and over UDP; nothing else resolves. */
const DNS: DnsResolver = {
  resolveNaptr: async () => [],
  resolveSrv: async (name) => {
    if (name === `_sips._tcp.${SECURE.domain}`) return [{ name: SECURE.srvTarget, port: SECURE.port, priority: 10, weight: 10 }];
    if (name === `_sip._udp.${SECURE.domain}`) return [{ name: SECURE.srvTarget, port: 5060, priority: 10, weight: 10 }];
    return [];
  },
  resolve4: async (host) => (host === SECURE.srvTarget ? [SECURE.host] : []),
  resolve6: async () => [],
};

/** As the transport node delivers the PBX's messages: over TLS on connection c1, naming the node's listeners. */
function fromPbx(h: Harness, msg: string | SipMessage): void {
  const sip = typeof msg === 'string' ? Buffer.from(msg) : serializeMessage(msg);
  const env: InboundSip = {
    v: 1, sip, route: readRoutingFields(sip), receivedAt: Date.now(),
    transport: {
      protocol: 'tls', localAddress: '192.0.2.1', localPort: 5061, remoteAddress: '127.0.0.1', remotePort: A_PORT, nodeId: 't1', connectionId: 'c1', ...LISTENERS,
    },
  };
  h.engine.onInbound(env);
}

function engine(): Harness {
  // plain.example is pinned to a UDP address only: it cannot do TLS
  const overrides = [{ domain: PLAIN.domain, addresses: [{ host: PLAIN.host, port: PLAIN.port, transport: 'udp' as const }] }];
  return engineWith(trunking({}, { overrides }), { locator: new SipLocator({ resolver: DNS, overrides }) });
}

/** The PBX's call over TLS, answered by the carrier (over UDP) and ACKed; the link emptied. */
async function establishOverTls(h: Harness): Promise<Call> {
  fromPbx(h, inviteFromA());
  await settle();
  const bInvite = takeOne<SipRequest>(h, B_PORT, isReq('INVITE'), 'INVITE');
  deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B }), B_PORT);
  await settle();
  const ok = takeResponse(h, A_PORT, 200, 'INVITE');
  fromPbx(h, fromA(ok, 'ACK', 1));
  await settle();
  h.link.sent.splice(0);
  return { ok, bInvite };
}

/** The PBX's REFER to `target`: 202, then the NOTIFY 100 answered. */
async function referTo(h: Harness, call: Call, target: string): Promise<void> {
  fromPbx(h, fromA(call.ok, 'REFER', 2, [`Refer-To: <${target}>`]));
  await settle();
  takeResponse(h, A_PORT, 202, 'REFER');
  const trying = takeOne<SipRequest>(h, A_PORT, isReq('NOTIFY'), 'NOTIFY 100');
  assert.equal(bodyOf(trying).trim(), 'SIP/2.0 100 Trying');
  fromPbx(h, answer(trying, 200));
  await settle();
}

/** The next NOTIFY to the PBX, once the transfer has got that far (the locator answers asynchronously). */
async function nextNotify(h: Harness): Promise<SipRequest> {
  for (let i = 0; i < 50 && !h.link.sent.some((s) => s.to.port === A_PORT && isReq('NOTIFY')(s.message)); i++) await settle();
  return takeOne<SipRequest>(h, A_PORT, isReq('NOTIFY'), 'NOTIFY');
}

const isInvite = (m: SipMessage) => isReq('INVITE')(m);

describe('transfer to a sips: URI', () => {
  test('the new leg goes over TLS to the `_sips._tcp` hop, naming the referred domain as the certificate to verify', async () => {
    const h = engine();
    const call = await establishOverTls(h);
    await referTo(h, call, `sips:bob@${SECURE.domain}`);
    for (let i = 0; i < 50 && !h.link.sent.some((s) => s.to.port === SECURE.port && isInvite(s.message)); i++) await settle();
    const sent = h.link.sent.find((s) => s.to.port === SECURE.port && isInvite(s.message));
    assert.ok(sent, 'an INVITE to the _sips._tcp hop');
    assert.deepEqual([sent.to.protocol, sent.to.address, sent.to.serverName], ['tls', SECURE.host, SECURE.domain]);
    assert.equal(h.link.sent.filter((s) => s.to.port === 5060 && isInvite(s.message)).length, 0, 'never the domain\'s UDP service');
    const cInvite = takeOne<SipRequest>(h, SECURE.port, isInvite, 'INVITE to the target');
    assert.equal(cInvite.uri.toString(), `sips:bob@${SECURE.domain}`);
    assert.equal(`${cInvite.headers.topVia?.transport} ${cInvite.headers.topVia?.host}:${cInvite.headers.topVia?.port}`, 'TLS 192.0.2.1:5061');
    assert.match(cInvite.headers.contact[0]?.uri.toString() ?? '', /^sips:sb@192\.0\.2\.1:5061/, 'a SIPS dialog: our Contact is a SIPS URI (RFC 3261 §8.1.1.8)');
    deliver(h.engine, answer(cInvite, 200, { tag: 'bobtag', sdp: SDP_C, port: SECURE.port }), SECURE.port, 'tcp', SECURE.host);
    const done = await nextNotify(h);
    assert.equal(bodyOf(done).trim(), 'SIP/2.0 200 OK');
    h.kernel.shutdown();
  });

  test('a target that cannot do TLS: nothing is sent to it, the final NOTIFY says 480 No TLS Route to Target', async () => {
    const h = engine();
    const call = await establishOverTls(h);
    await referTo(h, call, `sips:bob@${PLAIN.domain}`);
    const failed = await nextNotify(h);
    assert.equal(bodyOf(failed).trim(), 'SIP/2.0 480 No TLS Route to Target');
    assert.match(failed.headers.get('subscription-state') ?? '', /^terminated/);
    assert.equal(h.link.sent.filter((s) => s.to.address === PLAIN.host).length, 0, 'never reached over UDP');
    assert.equal(h.link.take(B_PORT, isInvite).length, 0, 'the remaining party is left as it was');
    h.kernel.shutdown();
  });
});
