// SIP over TLS end to end (issue 19 part 1): a real nats-server, a transport with a TLS listener
// and a worker; testkit UAs play a PBX that must use TLS and two carriers reached over TLS, one
// of them with a certificate of another CA. The CA and certificates are made here with openssl.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SipRequest } from '@switchboard/sip';
import { createTestPki, isFinalNotify, ManagedProcess, sipfragStatus, startNatsServer, UserAgent, type AgentTls, type NatsServerHandle, type TestCertificate, type TestPki } from '@switchboard/testkit';
import { natsClient, ROUTING_SECRET, startWorker, TRANSPORT_MAIN, transportStats, writeCluster, writeConfig } from '../support/cluster.js';

const PBX_HOST = '127.0.0.40';
const BAD_CARRIER_HOST = '127.0.0.41';
const CARRIER_HOST = '127.0.0.42';
/** A carrier whose certificate comes from its own private CA and names it by a DNS name only: its `tls` says both. */
const PRIVATE_CARRIER_HOST = '127.0.0.43';
const PRIVATE_CARRIER_NAME = 'sip.private-carrier.example';
/** A transfer target on another domain reached over TLS (`sips:` Refer-To), and one that has no TLS. */
const PARTNER_HOST = '127.0.0.44';
const SECURE_PARTNER = 'secure-partner.example';
const PLAIN_PARTNER = 'plain-partner.example';

/**
 * Two TLS listeners: the first open to any client, the second (`verifyClient`) only to clients
 * with a certificate of the test CA. Our own client certificate is shown to carriers that ask;
 * carriers' own files are read from `peerFilesDirs` (the private carrier's CA is in another).
 */
function transportConfig(natsUrl: string, pki: TestPki, edge: TestCertificate, client: TestCertificate, peerFilesDirs: string[]): string {
  return `transport:
  id: t1
  listen:
    - { protocol: udp, host: 127.0.0.1, port: 0 }
    - { protocol: tcp, host: 127.0.0.1, port: 0 }
    - { protocol: tls, host: 127.0.0.1, port: 0, tls: { certFile: ${edge.certFile}, keyFile: ${edge.keyFile} } }
    - { protocol: tls, host: 127.0.0.1, port: 0, tls: { certFile: ${edge.certFile}, keyFile: ${edge.keyFile}, caFile: ${pki.caFile}, verifyClient: true } }
  tls:
    client: { caFile: ${pki.caFile}, certFile: ${client.certFile}, keyFile: ${client.keyFile} }
    reloadCheckMs: 200
    peerFilesDirs: [${peerFilesDirs.join(', ')}]
  shutdownGraceMs: 1000
nats:
  servers: ["${natsUrl}"]
routing:
  secret: ${ROUTING_SECRET}
log:
  level: info
`;
}

function trunking(ports: { pbx: number; bad: number; carrier: number; privateCarrier: number; partner: number }, privateCa: string) {
  return {
    sipTransfers: {
      overrides: [
        { domain: SECURE_PARTNER, addresses: [{ host: PARTNER_HOST, port: ports.partner, transport: 'tls' }] },
        { domain: PLAIN_PARTNER, addresses: [{ host: PARTNER_HOST, port: 5999, transport: 'udp' }] },
      ],
    },
    carriers: [
      { id: 'impostor', addresses: [{ host: BAD_CARRIER_HOST, port: ports.bad, transport: 'tls' }], sources: [] },
      { id: 'secure', addresses: [{ host: CARRIER_HOST, port: ports.carrier, transport: 'tls' }], sources: [`${CARRIER_HOST}/32`] },
      {
        id: 'private', addresses: [{ host: PRIVATE_CARRIER_HOST, port: ports.privateCarrier, transport: 'tls' }], sources: [],
        tls: { caFile: privateCa, serverName: PRIVATE_CARRIER_NAME },
      },
    ],
    trunks: [{
      id: 'acme', domain: 'acme.trunks.example', acl: [`${PBX_HOST}/32`], requireTls: true,
      dids: ['+14155550100'],
      origination: { uris: [`sip:${PBX_HOST}:${ports.pbx};transport=tls`] },
      numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
      routing: [{ prefix: '+1', carriers: ['impostor', 'secure'] }, { prefix: '+44', carriers: ['private'] }],
      callerId: { allowed: ['+1212'] },
    }],
  };
}

/** Where the requests of one call that `ua` received came from: one entry per connection (source address:port). */
function requestSources(ua: UserAgent, callId: string): string[] {
  const entries = ua.entries((e) => e.dir === 'in' && e.message.kind === 'request' && e.message.headers.get('call-id') === callId);
  return [...new Set(entries.map((e) => `${e.remote.host}:${e.remote.port}`))];
}

/** The same, less the connections `ua` opened to the edge's listener at `edgePort`: the ones the edge dialed. */
function dialedSources(ua: UserAgent, callId: string, edgePort: number): string[] {
  return requestSources(ua, callId).filter((s) => s !== `127.0.0.1:${edgePort}`);
}

/** The certificate a new TLS connection to the edge is served. */
function servedCertificate(port: number, ca: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca }, () => {
      const cert = s.getPeerCertificate();
      s.end();
      resolve(cert);
    });
    s.once('error', reject);
  });
}

describe('SIP over TLS: listener, carriers, a trunk that requires it', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let transport: ManagedProcess;
  let worker: ManagedProcess;
  let pki: TestPki;
  let edgeCert: TestCertificate;
  let pbx: UserAgent;
  let plainPbx: UserAgent;
  let impostor: UserAgent;
  let carrier: UserAgent;
  let privateCarrier: UserAgent;
  let partner: UserAgent;
  /** The secure carrier's second agent, over UDP from the same address: its calls come in over UDP and leave over TLS. */
  let udpCarrier: UserAgent;
  let tlsPort = 0;
  /** The listener with verifyClient. */
  let verifiedPort = 0;
  let udpPort = 0;

  const agentTls = (ca: TestPki, host: string, extra: Partial<AgentTls> = {}): AgentTls => {
    const c = ca.issue(host, [host]);
    return { cert: c.cert, key: c.key, ca: pki.ca, ...extra };
  };

  before(async () => {
    pki = createTestPki();
    const otherCa = createTestPki('Impostor CA');
    edgeCert = pki.issue('edge', ['127.0.0.1']);
    nats = await startNatsServer();
    nc = await natsClient(nats.url);
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, transport: 'tls', tls: agentTls(pki, PBX_HOST), user: '+12125550100' });
    plainPbx = await UserAgent.start({ name: 'plain-pbx', host: PBX_HOST, user: '+12125550100' });
    impostor = await UserAgent.start({ name: 'impostor', host: BAD_CARRIER_HOST, transport: 'tls', tls: agentTls(otherCa, BAD_CARRIER_HOST) });
    // the carrier requires our client certificate: a handshake without one of the test CA is refused
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, transport: 'tls', tls: agentTls(pki, CARRIER_HOST, { requestClientCert: true, rejectUnauthorized: true }), user: '+13105550100' });
    const privateCert = otherCa.issue('private-carrier', [PRIVATE_CARRIER_NAME]);
    privateCarrier = await UserAgent.start({ name: 'private-carrier', host: PRIVATE_CARRIER_HOST, transport: 'tls', tls: { cert: privateCert.cert, key: privateCert.key, ca: pki.ca } });
    udpCarrier = await UserAgent.start({ name: 'udp-carrier', host: CARRIER_HOST, user: '+13105550100' });
    const partnerCert = pki.issue('partner', [SECURE_PARTNER]);
    partner = await UserAgent.start({ name: 'partner', host: PARTNER_HOST, transport: 'tls', tls: { cert: partnerCert.cert, key: partnerCert.key, ca: pki.ca } });
    const client = pki.issue('switchboard-client', ['switchboard.client.example']);
    transport = ManagedProcess.node('transport-t1', TRANSPORT_MAIN, ['--config', writeConfig(transportConfig(nats.url, pki, edgeCert, client, [pki.dir, otherCa.dir]))]);
    const listening = await transport.waitForEvent('listening');
    const listeners = listening.listeners as { protocol: string; port: number }[];
    const tlsListeners = listeners.filter((l) => l.protocol === 'tls');
    tlsPort = tlsListeners[0]?.port ?? 0;
    verifiedPort = tlsListeners[1]?.port ?? 0;
    udpPort = listeners.find((l) => l.protocol === 'udp')?.port ?? 0;
    const config = writeCluster(nats.url, trunking({ pbx: pbx.port, bad: impostor.port, carrier: carrier.port, privateCarrier: privateCarrier.port, partner: partner.port }, otherCa.caFile), { limitsBucket: 'tls-e2e' });
    worker = await startWorker('w1', config, nats.url);
    await transport.waitFor((l) => l.json?.event === 'worker' && l.json.worker === 'w1' && l.json.state === 'active');
  });

  after(async () => {
    await worker?.stop('SIGINT');
    await transport?.stop();
    for (const ua of [pbx, plainPbx, impostor, carrier, privateCarrier, partner, udpCarrier]) await ua?.stop();
    await nc?.close();
    await nats?.stop();
  });

  test('PBX → carrier over TLS: the carrier with a certificate of another CA is skipped (logged, counted), the next one answers; re-INVITE and BYE over the same connections', async () => {
    carrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:4155551234@acme.trunks.example', via: { host: '127.0.0.1', port: tlsPort } });
    const far = await carrier.nextCall();
    await call.established;
    const invite = far.invite as SipRequest;
    assert.equal(invite.headers.topVia?.transport, 'TLS');
    assert.equal(invite.headers.topVia?.port, tlsPort);
    assert.match(invite.headers.contact[0]?.uri.toString() ?? '', new RegExp(`^sip:sb@127\\.0\\.0\\.1:${tlsPort};transport=tls$`));
    assert.equal(impostor.received('INVITE').length, 0, 'nothing was said to the impostor');
    assert.deepEqual(carrier.tlsClients()[0], { cn: 'switchboard.client.example', authorized: true }, 'the carrier that requires a client certificate got ours');
    const refused = await transport.waitForEvent('tls-verify-failed');
    assert.match(String(refused.reason), /certificate verification failed/);
    assert.equal(refused.remote, BAD_CARRIER_HOST);
    const stats = await transportStats(nc, 't1');
    assert.ok(stats.tls.verifyFailed >= 1, JSON.stringify(stats.tls));
    assert.ok(stats.received.tls >= 3 && stats.sent.tls >= 3, JSON.stringify({ received: stats.received, sent: stats.sent }));
    assert.equal((await call.reinvite()).status, 200);
    assert.equal((await far.reinvite()).status, 200);
    await call.hangup();
    assert.equal((await far.ended).how, 'bye');
    // RFC 5923-style reuse: the carrier's re-INVITE reached the PBX over the connection the PBX
    // opened to us (its source: the TLS listener's port), not over a new one to the PBX's Contact
    assert.deepEqual(requestSources(pbx, call.callId), [`127.0.0.1:${tlsPort}`]);
    // and we opened one connection to the carrier for the call (its own re-INVITE opened one to us, which our BYE may take)
    assert.equal(dialedSources(carrier, far.callId, tlsPort).length, 1, carrier.describe());
  });

  test('a carrier with its own TLS settings: verified against its own CA and by the name its tls.serverName gives', async () => {
    const failedBefore = (await transportStats(nc, 't1')).tls.verifyFailed as number;
    privateCarrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:011442071234567@acme.trunks.example', via: { host: '127.0.0.1', port: tlsPort } });
    const far = await privateCarrier.nextCall();
    await call.established;
    assert.equal((far.invite as SipRequest).headers.topVia?.transport, 'TLS');
    await call.hangup();
    assert.equal((await far.ended).how, 'bye');
    assert.equal((await transportStats(nc, 't1')).tls.verifyFailed, failedBefore, 'no certificate refused on the way');
  });

  test('a sips: Refer-To: the new leg goes over TLS to the partner, verified by its domain; a partner without TLS ends the transfer with 480 No TLS Route to Target', async () => {
    carrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:4155551238@acme.trunks.example', via: { host: '127.0.0.1', port: tlsPort } });
    const far = await carrier.nextCall();
    await call.established;

    assert.equal((await call.refer(`sips:bob@${PLAIN_PARTNER}`)).status, 202);
    const refused = await call.waitForNotify(isFinalNotify);
    assert.equal(Buffer.from(refused.body).toString().trim(), 'SIP/2.0 480 No TLS Route to Target');

    partner.onNextInvite({ ring: 0 });
    assert.equal((await call.refer(`sips:bob@${SECURE_PARTNER}`)).status, 202);
    const target = await partner.nextCall();
    assert.equal(target.invite.uri.toString(), `sips:bob@${SECURE_PARTNER}`);
    assert.equal(target.invite.headers.topVia?.transport, 'TLS');
    await call.waitForNotify((n) => isFinalNotify(n) && sipfragStatus(n) === 200);
    await far.waitForRequest('INVITE'); // the carrier re-pointed to the partner
    await call.hangup();
    await far.hangup();
    assert.equal((await target.ended).how, 'bye');
  });

  test('carrier → PBX (origination) over TLS both ways; the PBX\'s BYE reaches the carrier over the carrier\'s own connection', async () => {
    pbx.onNextInvite({ ring: 0 });
    const call = carrier.call({ to: 'sip:+14155550100@127.0.0.1', via: { host: '127.0.0.1', port: tlsPort } });
    const far = await pbx.nextCall();
    await call.established;
    assert.equal((far.invite as SipRequest).headers.topVia?.transport, 'TLS');
    const handshakes = (await transportStats(nc, 't1')).tls.handshakes as number;
    await far.hangup();
    assert.equal((await call.ended).how, 'bye');
    const bye = carrier.entries({ dir: 'in', method: 'BYE', callId: call.callId });
    assert.equal(bye.length, 1);
    assert.equal(`${bye[0]?.remote.host}:${bye[0]?.remote.port}`, `127.0.0.1:${tlsPort}`, 'the BYE came over the connection the carrier opened, not a new one to its Contact');
    assert.equal((await transportStats(nc, 't1')).tls.handshakes, handshakes, 'no new connection for the BYE');
  });

  test('a call in over UDP leaving over TLS names the node\'s first TLS listener (not the verifyClient one after it) in Via and Contact', async () => {
    pbx.onNextInvite({ ring: 0 });
    const call = udpCarrier.call({ to: 'sip:+14155550100@127.0.0.1', via: { host: '127.0.0.1', port: udpPort } });
    const far = await pbx.nextCall();
    await call.established;
    const invite = far.invite as SipRequest;
    assert.equal(`${invite.headers.topVia?.transport} ${invite.headers.topVia?.port}`, `TLS ${tlsPort}`);
    assert.equal(invite.headers.contact[0]?.uri.toString(), `sip:sb@127.0.0.1:${tlsPort};transport=tls`);
    await far.hangup();
    assert.equal((await call.ended).how, 'bye');
  });

  test('the PBX\'s connection drops mid-call: the carrier\'s BYE reaches it over a new connection to its Contact, not to the old source port', async () => {
    carrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:4155551239@acme.trunks.example', via: { host: '127.0.0.1', port: tlsPort } });
    const far = await carrier.nextCall();
    await call.established;
    const failuresBefore = (await transportStats(nc, 't1')).sendFailures as number;
    pbx.dropConnections();
    await far.hangup();
    assert.equal((await call.ended).how, 'bye');
    const [bye] = pbx.entries({ dir: 'in', method: 'BYE', callId: call.callId });
    assert.notEqual(bye?.remote.port, tlsPort, 'over a connection the edge opened to the PBX');
    assert.equal((await transportStats(nc, 't1')).sendFailures, failuresBefore, 'no send failed on the way');
  });

  test('the trunk requires TLS: its PBX over UDP is refused 403 TLS Required', async () => {
    const call = plainPbx.call({ to: 'sip:4155551235@acme.trunks.example', via: { host: '127.0.0.1', port: udpPort } });
    const failed = await call.failed;
    assert.equal(`${failed.status} ${failed.reason}`, '403 TLS Required');
  });

  test('a plain TCP client on the TLS port gets closed', async () => {
    const before = (await transportStats(nc, 't1')).tls.handshakeFailed as number;
    const plain = net.connect(tlsPort, '127.0.0.1');
    plain.write('OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKplain\r\nContent-Length: 0\r\n\r\n');
    let answer = '';
    plain.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    await new Promise<void>((resolve) => plain.once('close', () => resolve()));
    assert.doesNotMatch(answer, /SIP\/2\.0/, 'no SIP answer on a TLS port');
    assert.equal((await transportStats(nc, 't1')).tls.handshakeFailed, before + 1);
  });

  test('a listener with verifyClient: a client without a certificate is refused (counted); the PBX with one of the CA calls through it', async () => {
    const before = (await transportStats(nc, 't1')).tls.handshakeFailed as number;
    const anonymous = tls.connect({ host: '127.0.0.1', port: verifiedPort, ca: pki.ca });
    anonymous.on('error', () => undefined); // TLS 1.3: refused after the client's side of the handshake
    anonymous.once('secureConnect', () => anonymous.write('OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n'));
    let answer = '';
    anonymous.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    await new Promise<void>((resolve) => anonymous.once('close', () => resolve()));
    assert.equal(answer, '', 'no SIP answer without a client certificate');
    assert.equal((await transportStats(nc, 't1')).tls.handshakeFailed, before + 1);
    const refused = await transport.waitFor((l) => l.json?.event === 'tls-handshake-failed' && /CERTIFICATE/i.test(String(l.json.reason)));
    assert.ok(refused);

    carrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:4155551237@acme.trunks.example', via: { host: '127.0.0.1', port: verifiedPort } });
    const far = await carrier.nextCall();
    await call.established;
    assert.equal((far.invite as SipRequest).headers.topVia?.transport, 'TLS');
    await call.hangup();
    assert.equal((await far.ended).how, 'bye');
  });

  test('a certificate renewed mid-call: new handshakes get it, the call carries on over its connections', async () => {
    carrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:4155551236@acme.trunks.example', via: { host: '127.0.0.1', port: tlsPort } });
    const far = await carrier.nextCall();
    await call.established;
    // the carrier has a connection to the edge before the renewal, for its re-INVITE after it
    assert.equal((await far.reinvite()).status, 200);
    const handshakes = (await transportStats(nc, 't1')).tls.handshakes as number;
    const first = await servedCertificate(tlsPort, pki.ca);
    const renewed = pki.issue('edge-renewed', ['127.0.0.1']);
    copyFileSync(renewed.keyFile, edgeCert.keyFile);
    copyFileSync(renewed.certFile, edgeCert.certFile);
    await transport.waitFor((l) => l.json?.event === 'tls-reloaded' && l.json.endpoint !== 'client');
    const second = await servedCertificate(tlsPort, pki.ca);
    assert.notEqual(second.serialNumber, first.serialNumber, 'a new handshake gets the renewed certificate');
    assert.equal((await call.reinvite()).status, 200);
    assert.equal((await far.reinvite()).status, 200);
    await call.hangup();
    assert.equal((await far.ended).how, 'bye');
    // a reload that dropped the connections would show here: the PBX reconnecting (a handshake
    // more than the two probes), the carrier's re-INVITE sent over a new connection
    assert.equal((await transportStats(nc, 't1')).tls.handshakes, handshakes + 2, 'only the two probes were new connections');
    assert.deepEqual(requestSources(pbx, call.callId), [`127.0.0.1:${tlsPort}`], 'the PBX was reached over the connection it opened before the renewal');
    assert.equal(dialedSources(carrier, far.callId, tlsPort).length, 1, 'the carrier was reached over the connection opened before the renewal');
  });
});
