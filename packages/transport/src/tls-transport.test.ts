import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { createTestPki, type TestCertificate, type TestPki } from '@switchboard/testkit';
import { pino } from 'pino';
import { dialStream } from './stream-dialer.js';
import { isVerifyFailure, TlsCredentials, type ReloadOutcome } from './tls-credentials.js';
import { createTlsListener } from './tls-listener.js';
import { PeerTlsCredentials } from './tls-peers.js';
import { TransportCounters } from './transport-counters.js';

const log = pino({ level: 'silent' });

let pki: TestPki;
let wrongPki: TestPki;
let served: TestCertificate;
before(() => {
  pki = createTestPki();
  wrongPki = createTestPki('Wrong CA');
  served = pki.issue('edge', ['127.0.0.1', 'sip.edge.example']);
});

/** A TLS listener on a free port whose accepted sockets are kept, with its counters. */
async function listener(credentials: TlsCredentials, verifyClient = false): Promise<{ server: tls.Server; port: number; accepted: tls.TLSSocket[]; counters: TransportCounters }> {
  const counters = new TransportCounters();
  const accepted: tls.TLSSocket[] = [];
  const server = createTlsListener({ credentials, verifyClient, handshakeTimeoutMs: 2_000, counters: counters.tls, log, onSecure: (s) => accepted.push(s) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port, accepted, counters };
}

/** Dials and waits for the outcome: the peer certificate's CN, or the error. */
function dial(port: number, client: TlsCredentials | undefined, serverName?: string): Promise<{ cn: string } | { err: NodeJS.ErrnoException }> {
  const socket = dialStream({ protocol: 'tls', address: '127.0.0.1', port, serverName }, client, 2_000) as tls.TLSSocket;
  return new Promise((resolve) => {
    socket.once('secureConnect', () => {
      const cn = String(socket.getPeerCertificate().subject?.CN ?? '');
      socket.end(); // not destroy: the server reads our Finished before the close (TLS 1.3 finishes client first)
      resolve({ cn });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ err }));
  });
}

describe('TLS credentials, listener and dialer', () => {
  const open: { close(): void }[] = [];
  after(() => {
    for (const o of open) o.close();
  });

  test('a key that does not match its certificate is refused at load, not at the first handshake', () => {
    const other = pki.issue('other', ['127.0.0.1']);
    assert.throws(() => new TlsCredentials({ certFile: served.certFile, keyFile: other.keyFile }), /key values mismatch/);
  });

  test('the dialer verifies the server against the CA and the server name; a wrong one is a verify failure', async () => {
    const credentials = new TlsCredentials({ certFile: served.certFile, keyFile: served.keyFile });
    const l = await listener(credentials);
    open.push(l.server);
    const trusting = new TlsCredentials({ caFile: pki.caFile });
    assert.deepEqual(await dial(l.port, trusting), { cn: '127.0.0.1' }, 'an IP SAN, checked against the address');
    assert.deepEqual(await dial(l.port, trusting, 'sip.edge.example'), { cn: '127.0.0.1' }, 'a DNS SAN, checked against the server name (SNI)');
    const misnamed = await dial(l.port, trusting, 'sip.carrier.example');
    assert.ok('err' in misnamed && isVerifyFailure(misnamed.err), 'name mismatch');
    const untrusting = await dial(l.port, new TlsCredentials({ caFile: wrongPki.caFile }));
    assert.ok('err' in untrusting && isVerifyFailure(untrusting.err), 'unknown CA');
    const refused = await dial(1, trusting);
    assert.ok('err' in refused && !isVerifyFailure(refused.err), 'a refused connection is no verify failure');
    await waitFor(() => l.counters.tls.handshakes === 2);
  });

  test('SNI: a peer dialed by name is sent its name; one dialed by address is sent none (RFC 6066 §3)', async () => {
    const l = await listener(new TlsCredentials({ certFile: served.certFile, keyFile: served.keyFile }));
    open.push(l.server);
    const trusting = new TlsCredentials({ caFile: pki.caFile });
    await dial(l.port, trusting, 'sip.edge.example');
    await waitFor(() => l.accepted.length === 1);
    assert.equal(l.accepted[0]?.servername, 'sip.edge.example');
    await dial(l.port, trusting);
    await waitFor(() => l.accepted.length === 2);
    assert.ok(!l.accepted[1]?.servername, 'no SNI for an address');
  });

  test('TLS 1.2 at least, even where the process would allow less: a TLS 1.1 client is refused, before and after a reload; the dialer refuses a TLS 1.1 server', async (t) => {
    // this process made as lax as node can be: only MIN_TLS_VERSION stands between a TLS 1.1 peer and us
    const { DEFAULT_MIN_VERSION, DEFAULT_CIPHERS } = tls;
    tls.DEFAULT_MIN_VERSION = 'TLSv1';
    tls.DEFAULT_CIPHERS = 'DEFAULT@SECLEVEL=0';
    t.after(() => {
      tls.DEFAULT_MIN_VERSION = DEFAULT_MIN_VERSION;
      tls.DEFAULT_CIPHERS = DEFAULT_CIPHERS;
    });
    const credentials = new TlsCredentials({ certFile: served.certFile, keyFile: served.keyFile });
    const l = await listener(credentials);
    open.push(l.server);
    const oldClient = (): Promise<string> => new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: l.port, ca: pki.ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, () => {
        resolve(`connected ${s.getProtocol()}`);
        s.end();
      });
      s.once('error', (err: NodeJS.ErrnoException) => resolve(String(err.code)));
    });
    // the code names the refusal as this OpenSSL build words it (an alert from us, or no common protocol)
    const refused = /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS/;
    assert.match(await oldClient(), refused);
    await waitFor(() => l.counters.tls.handshakeFailed === 1);
    assert.equal(credentials.reload().ok, true);
    assert.match(await oldClient(), refused, 'the renewed context keeps the minimum');
    assert.deepEqual(await dial(l.port, new TlsCredentials({ caFile: pki.caFile })), { cn: '127.0.0.1' }, 'TLS 1.2+ still served');

    const oldServer = tls.createServer({ cert: served.cert, key: served.key, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    oldServer.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => oldServer.listen(0, '127.0.0.1', resolve));
    open.push(oldServer);
    const toOld = await dial((oldServer.address() as net.AddressInfo).port, new TlsCredentials({ caFile: pki.caFile }));
    assert.ok('err' in toOld && refused.test(String(toOld.err.code)), JSON.stringify(toOld));
  });

  test('a peer\'s own TLS files, each over the node\'s default: its CA verifies it, its certificate (or the node\'s) is shown; unusable files are named', async () => {
    const nodeClient = pki.issue('node-client', ['client.node.example']);
    const ownClient = pki.issue('own-client', ['client.own.example']);
    const defaults = { caFile: pki.caFile, certFile: nodeClient.certFile, keyFile: nodeClient.keyFile };
    const watchedEndpoints: string[] = [];
    const peers = new PeerTlsCredentials(defaults, {
      allowedDirs: [pki.dir, wrongPki.dir, '/nonexistent'],
      watch: (c, endpoint) => {
        watchedEndpoints.push(endpoint);
        open.push(c);
        return c;
      },
    });
    // a peer whose certificate comes from another CA and that asks for a client certificate of our CA
    const wrongServed = wrongPki.issue('carrier', ['127.0.0.1']);
    const l = await listener(new TlsCredentials({ certFile: wrongServed.certFile, keyFile: wrongServed.keyFile, caFile: pki.caFile }), true);
    open.push(l.server);
    const shown: string[] = []; // read at accept: the client may close before the test looks
    l.server.on('secureConnection', (socket: tls.TLSSocket) => shown.push(String(socket.getPeerCertificate().subject?.CN)));
    const withDefaults = await dial(l.port, new TlsCredentials(defaults));
    assert.ok('err' in withDefaults && isVerifyFailure(withDefaults.err), 'the node\'s CA does not verify it');
    const ownCa = peers.for({ caFile: wrongPki.caFile });
    assert.deepEqual(await dial(l.port, ownCa), { cn: '127.0.0.1' }, 'its own CA does');
    await waitFor(() => l.accepted.length === 1);
    assert.equal(shown[0], 'client.node.example', 'the node\'s client certificate, not named by the peer');
    assert.deepEqual(await dial(l.port, peers.for({ caFile: wrongPki.caFile, certFile: ownClient.certFile, keyFile: ownClient.keyFile })), { cn: '127.0.0.1' });
    await waitFor(() => l.accepted.length === 2);
    assert.equal(shown[1], 'client.own.example', 'its own client certificate');
    assert.equal(peers.for({ caFile: wrongPki.caFile }), ownCa, 'loaded once per set of files');
    assert.equal(watchedEndpoints.length, 2, 'each set watched for renewal');
    assert.throws(() => peers.for({ caFile: '/nonexistent/carrier-ca.pem' }), /caFile \/nonexistent\/carrier-ca\.pem.*ENOENT/);
    assert.throws(() => peers.for({ certFile: ownClient.certFile, keyFile: nodeClient.keyFile }), /certFile .*keyFile .*key values mismatch/);
  });

  test('plain TCP on the TLS port: the handshake fails, is counted, and the connection is closed', async () => {
    const l = await listener(new TlsCredentials({ certFile: served.certFile, keyFile: served.keyFile }));
    open.push(l.server);
    const plain = net.connect(l.port, '127.0.0.1');
    plain.write('OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n');
    await new Promise<void>((resolve) => plain.once('close', () => resolve()));
    assert.equal(l.accepted.length, 0);
    assert.equal(l.counters.tls.handshakeFailed, 1);
  });

  test('verifyClient: a client without a certificate of the CA is refused; one with it is accepted', async () => {
    const l = await listener(new TlsCredentials({ certFile: served.certFile, keyFile: served.keyFile, caFile: pki.caFile }), true);
    open.push(l.server);
    // TLS 1.3: the client may finish its side before the server refuses it and closes
    await dial(l.port, new TlsCredentials({ caFile: pki.caFile }));
    await waitFor(() => l.counters.tls.handshakeFailed === 1);
    assert.equal(l.accepted.length, 0);
    const client = pki.issue('pbx', ['127.0.0.1']);
    assert.deepEqual(await dial(l.port, new TlsCredentials({ caFile: pki.caFile, certFile: client.certFile, keyFile: client.keyFile })), { cn: '127.0.0.1' });
    await waitFor(() => l.accepted.length === 1);
  });

  test('renewed files: new handshakes get the new certificate, the connection already up stays; unusable files keep the old', async () => {
    const live = pki.issue('live', ['127.0.0.1']);
    const credentials = new TlsCredentials({ certFile: live.certFile, keyFile: live.keyFile });
    const outcomes: ReloadOutcome[] = [];
    credentials.watch(100, (o) => outcomes.push(o));
    open.push(credentials);
    const l = await listener(credentials);
    open.push(l.server);
    const trusting = new TlsCredentials({ caFile: pki.caFile });
    const kept = dialStream({ protocol: 'tls', address: '127.0.0.1', port: l.port }, trusting, 2_000) as tls.TLSSocket;
    await new Promise((resolve) => kept.once('secureConnect', resolve));

    writeFileSync(live.certFile, 'not a certificate');
    await waitFor(() => outcomes.length >= 1);
    assert.equal(outcomes[0]?.ok, false, 'a cut file is refused');
    assert.deepEqual(await dial(l.port, trusting), { cn: '127.0.0.1' }, 'the old credentials still serve');

    const renewed = pki.issue('renewed', ['sip.renewed.example', '127.0.0.1']);
    copyFileSync(renewed.keyFile, live.keyFile);
    copyFileSync(renewed.certFile, live.certFile);
    await waitFor(() => outcomes.some((o) => o.ok));
    assert.deepEqual(await dial(l.port, trusting), { cn: 'sip.renewed.example' }, 'a new handshake gets the renewed certificate');
    const echoed = new Promise<string>((resolve) => kept.once('data', (d: Buffer) => resolve(d.toString())));
    l.accepted[0]?.write('still here');
    assert.equal(await echoed, 'still here', 'the connection made before the renewal carries on');
    kept.destroy();
  });
});

async function waitFor(cond: () => boolean, ms = 3_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
