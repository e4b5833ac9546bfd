// Calls whose legs run over TLS: a carrier reached over TLS from a call that came in over UDP
// (the node's TLS listener in Via and Contact, the carrier's host as the name to verify), a node
// without a TLS listener, a trunk that requires TLS, and a SIPS dialog's Contact.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readRoutingFields, SipRequest } from '@switchboard/sip';
import type { InboundSip, ListenerAddress, Protocol } from '@switchboard/wire';
import { A_PORT, answer, deliver, fromA, inviteFromA, isReq, settle, type makeEngine } from '../testing/harness.js';
import { C1, C2, SDP_B, carrier, engineWith, takeFinal, takeInvite, trunking } from '../testing/call-fixtures.js';
import { fromPeer } from '../testing/transfer-fixtures.js';

const TLS_LISTENER: ListenerAddress = { address: '192.0.2.1', port: 5061 };

/** As the transport node delivers it: over `protocol`, naming its TLS listener when it has one. */
function deliverOver(h: ReturnType<typeof makeEngine>, msg: string, protocol: Protocol, tls: ListenerAddress | undefined): void {
  const sip = Buffer.from(msg);
  const env: InboundSip = {
    v: 1, sip, route: readRoutingFields(sip), receivedAt: Date.now(),
    transport: {
      protocol, localAddress: '192.0.2.1', localPort: protocol === 'tls' ? 5061 : 5060, remoteAddress: '127.0.0.1', remotePort: A_PORT, nodeId: 't1',
      ...(protocol === 'udp' ? {} : { connectionId: 'c1' }), ...(tls === undefined ? {} : { tls, udp: { address: '192.0.2.1', port: 5060 }, tcp: { address: '192.0.2.1', port: 5060 } }),
    },
  };
  h.engine.onInbound(env);
}

const tlsCarrier = (id: string, port: number) => carrier(id, port, { addresses: [{ host: '127.0.0.9', port, transport: 'tls' }] });

describe('calls over TLS', () => {
  test('a call in over UDP leaves for a TLS carrier through the node\'s TLS listener, naming the carrier\'s host', async () => {
    const h = engineWith(trunking([tlsCarrier('secure', C1)]));
    deliverOver(h, inviteFromA(), 'udp', TLS_LISTENER);
    await settle();
    const sent = h.link.sent.find((s) => s.to.port === C1 && s.message instanceof SipRequest);
    assert.ok(sent);
    assert.equal(sent.to.protocol, 'tls');
    assert.equal(sent.to.serverName, '127.0.0.9');
    const invite = takeInvite(h, C1);
    assert.equal(invite.headers.topVia?.transport, 'TLS');
    assert.equal(`${invite.headers.topVia?.host}:${invite.headers.topVia?.port}`, '192.0.2.1:5061');
    assert.equal(invite.headers.contact[0]?.uri.toString(), 'sip:sb@192.0.2.1:5061;transport=tls');
    assert.equal(invite.uri.toString(), `sip:+14155550100@127.0.0.9:${C1};user=phone;transport=tls`);
    h.kernel.shutdown();
  });

  test('a carrier with its own TLS settings: its name to verify and its PEM files go to the transport node with each message', async () => {
    const tls = { caFile: '/etc/switchboard-tls/secure-ca.pem', certFile: '/etc/switchboard-tls/to-secure.crt', keyFile: '/etc/switchboard-tls/to-secure.key' };
    const h = engineWith(trunking([carrier('secure', C1, { addresses: [{ host: '127.0.0.9', port: C1, transport: 'tls' }], tls: { ...tls, serverName: 'edge.secure.example' } })]));
    deliverOver(h, inviteFromA(), 'udp', TLS_LISTENER);
    await settle();
    const sent = h.link.sent.find((s) => s.to.port === C1 && s.message instanceof SipRequest);
    assert.ok(sent);
    assert.equal(sent.to.serverName, 'edge.secure.example');
    assert.deepEqual(sent.to.tlsFiles, tls);
    h.kernel.shutdown();
  });

  test('a node without a TLS listener: the TLS carrier is skipped (never tried over a weaker transport), the next one is tried', async () => {
    const h = engineWith(trunking([tlsCarrier('secure', C1), carrier('plain', C2)]));
    deliverOver(h, inviteFromA(), 'udp', undefined);
    await settle();
    assert.equal(h.link.sent.filter((s) => s.to.port === C1).length, 0);
    assert.equal(takeInvite(h, C2).headers.topVia?.transport, 'UDP');
    assert.equal(h.ctx.counters.get('failover'), 1);
    h.kernel.shutdown();
  });

  test('a trunk that requires TLS: 403 TLS Required over UDP; over TLS the call goes on', async () => {
    const h = engineWith(trunking([carrier('plain', C1)], { requireTls: true }));
    deliverOver(h, inviteFromA(), 'udp', TLS_LISTENER);
    await settle();
    const refused = takeFinal(h, A_PORT);
    assert.equal(`${refused.status} ${refused.reason}`, '403 TLS Required');
    assert.equal(h.ctx.counters.get('refused.tls-required'), 1);
    deliverOver(h, inviteFromA(), 'tls', TLS_LISTENER);
    await settle();
    takeInvite(h, C1);
    h.kernel.shutdown();
  });

  test('a SIPS Request-URI over TLS: our answer\'s Contact is a SIPS URI (RFC 3261 §12.1.1)', async () => {
    const h = engineWith(trunking([carrier('plain', C1)]));
    deliverOver(h, inviteFromA().replace('INVITE sip:+14155550100@switchboard.example', 'INVITE sips:+14155550100@switchboard.example'), 'tls', TLS_LISTENER);
    await settle();
    const invite = takeInvite(h, C1);
    assert.equal(invite.headers.contact[0]?.uri.toString(), 'sip:sb@192.0.2.1:5060', 'the carrier leg over UDP: the UDP listener, no SIPS dialog');
    assert.equal(`${invite.headers.topVia?.transport} ${invite.headers.topVia?.port}`, 'UDP 5060');
    deliver(h.engine, answer(invite, 200, { tag: 'c1', sdp: SDP_B, port: C1 }), C1);
    await settle();
    const ok = takeFinal(h, A_PORT);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.contact[0]?.uri.toString(), 'sips:sb@192.0.2.1:5061');
    h.kernel.shutdown();
  });

  for (const protocol of ['tls', 'tcp'] as const) {
    test(`the far end's re-INVITE and BYE reach a party that came over ${protocol.toUpperCase()} over its inbound connection (RFC 5923 style), not a new one to its Contact`, async () => {
      const h = engineWith(trunking([carrier('plain', C1)]));
      const contact = `Contact: <sip:pbx@127.0.0.1:5999;transport=${protocol}>`;
      deliverOver(h, inviteFromA().replace(`Contact: <sip:pbx@127.0.0.1:${A_PORT}>`, contact), protocol, TLS_LISTENER);
      await settle();
      const bInvite = takeInvite(h, C1);
      deliver(h.engine, answer(bInvite, 200, { tag: 'c1', sdp: SDP_B, port: C1 }), C1);
      await settle();
      const ok = takeFinal(h, A_PORT);
      deliverOver(h, fromA(ok, 'ACK', 1), protocol, TLS_LISTENER);
      await settle();
      h.link.sent.splice(0);
      const toA = (method: string) => {
        const sent = h.link.sent.filter((s) => isReq(method)(s.message));
        assert.equal(sent.length, 1, `one ${method} towards the PBX`);
        return sent[0]?.to;
      };
      deliver(h.engine, fromPeer(bInvite, 'c1', 'INVITE', 2, C1, '127.0.0.1', ['Content-Type: application/sdp'], SDP_B), C1);
      await settle();
      const reinviteTo = toA('INVITE');
      assert.deepEqual([reinviteTo?.protocol, reinviteTo?.address, reinviteTo?.port, reinviteTo?.connectionId], [protocol, '127.0.0.1', A_PORT, 'c1']);
      assert.deepEqual(reinviteTo?.fallback, { address: '127.0.0.1', port: 5999 }, 'its Contact, should that connection be gone');
      h.link.sent.splice(0);
      deliver(h.engine, fromPeer(bInvite, 'c1', 'BYE', 3, C1, '127.0.0.1'), C1);
      await settle();
      const byeTo = toA('BYE');
      assert.deepEqual([byeTo?.protocol, byeTo?.address, byeTo?.port, byeTo?.connectionId], [protocol, '127.0.0.1', A_PORT, 'c1']);
      assert.deepEqual(byeTo?.fallback, { address: '127.0.0.1', port: 5999 });
      h.kernel.shutdown();
    });
  }

  /** The BYE the engine sends a TLS party that reached us with `headers`, when the far end hangs up. */
  async function byeToTlsParty(headers: string[]) {
    const h = engineWith(trunking([carrier('plain', C1)]));
    deliverOver(h, inviteFromA({ headers }).replace(`Contact: <sip:pbx@127.0.0.1:${A_PORT}>`, 'Contact: <sip:pbx@127.0.0.1:5999;transport=tls>'), 'tls', TLS_LISTENER);
    await settle();
    const bInvite = takeInvite(h, C1);
    deliver(h.engine, answer(bInvite, 200, { tag: 'c1', sdp: SDP_B, port: C1 }), C1);
    await settle();
    deliverOver(h, fromA(takeFinal(h, A_PORT), 'ACK', 1), 'tls', TLS_LISTENER);
    await settle();
    h.link.sent.splice(0);
    deliver(h.engine, fromPeer(bInvite, 'c1', 'BYE', 2, C1, '127.0.0.1'), C1);
    await settle();
    const bye = h.link.sent.find((s) => isReq('BYE')(s.message));
    h.kernel.shutdown();
    assert.ok(bye);
    return bye;
  }

  test('a TLS party behind a proxy that Record-Routed: once its connection is gone, requests go to the first route (RFC 3261 §12.2.1.1), not its Contact', async () => {
    const bye = await byeToTlsParty(['Record-Route: <sip:127.0.0.7:5071;transport=tls;lr>', 'Record-Route: <sip:127.0.0.8;lr>']);
    assert.deepEqual([bye.to.connectionId, bye.to.fallback], ['c1', { address: '127.0.0.7', port: 5071 }]);
    assert.equal(bye.to.serverName, undefined, 'an address: the certificate is checked against it');
    assert.equal((bye.message as SipRequest).uri.toString(), 'sip:pbx@127.0.0.1:5999;transport=tls', 'loose routing: the Contact stays the Request-URI');
  });

  test('a first route that is a host name: no fallback (the worker does not resolve it), the request goes where the connection was', async () => {
    const bye = await byeToTlsParty(['Record-Route: <sip:edge.proxy.example;transport=tls;lr>']);
    assert.deepEqual([bye.to.address, bye.to.port, bye.to.connectionId, bye.to.fallback], ['127.0.0.1', A_PORT, 'c1', undefined]);
  });
});
