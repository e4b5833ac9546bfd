import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestPki } from '../test-pki.js';
import { UserAgent } from './user-agent.js';

describe('UserAgent over TLS', () => {
  test('a call both ways over one verified TLS connection; a peer of another CA is refused', async (t) => {
    const pki = createTestPki();
    const issued = pki.issue('ua', ['127.0.0.1']);
    const tls = { cert: issued.cert, key: issued.key, ca: pki.ca };
    const pbx = await UserAgent.start({ name: 'pbx', transport: 'tls', tls });
    const carrier = await UserAgent.start({ name: 'carrier', transport: 'tls', tls });
    const other = createTestPki('Another CA');
    const strangerCert = other.issue('stranger', ['127.0.0.1']);
    const stranger = await UserAgent.start({ name: 'stranger', transport: 'tls', tls: { cert: strangerCert.cert, key: strangerCert.key, ca: other.ca } });
    t.after(async () => {
      for (const ua of [pbx, carrier, stranger]) await ua.stop();
    });
    assert.match(pbx.uri.toString(), /;transport=tls$/);
    carrier.onInvite({ ring: 0 });
    const call = pbx.call({ to: carrier.uri });
    await call.established;
    const far = await carrier.nextCall();
    assert.equal(far.invite?.headers.topVia?.transport, 'TLS');
    await far.hangup(); // back over the connection the INVITE came on
    assert.equal((await call.ended).how, 'bye');

    const refused = stranger.call({ to: carrier.uri });
    await assert.rejects(refused.established);
  });

  test('requestClientCert: a client without a certificate of the CA is refused; rejectUnauthorized false accepts it as unverified', async (t) => {
    const pki = createTestPki();
    const issued = pki.issue('ua', ['127.0.0.1']);
    const other = createTestPki('Another CA').issue('stranger', ['127.0.0.1']);
    const strict = await UserAgent.start({ name: 'strict', transport: 'tls', tls: { cert: issued.cert, key: issued.key, ca: pki.ca, requestClientCert: true } });
    const lenient = await UserAgent.start({ name: 'lenient', transport: 'tls', tls: { cert: issued.cert, key: issued.key, ca: pki.ca, requestClientCert: true, rejectUnauthorized: false } });
    const known = await UserAgent.start({ name: 'known', transport: 'tls', tls: { cert: issued.cert, key: issued.key, ca: pki.ca } });
    // trusts the UAs' CA, but shows a certificate of another
    const unknown = await UserAgent.start({ name: 'unknown', transport: 'tls', tls: { cert: other.cert, key: other.key, ca: pki.ca } });
    t.after(async () => {
      for (const ua of [strict, lenient, known, unknown]) await ua.stop();
    });
    strict.onInvite({ ring: 0 });
    lenient.onInvite({ ring: 0 });
    await known.call({ to: strict.uri }).established;
    assert.deepEqual(strict.tlsClients(), [{ cn: '127.0.0.1', authorized: true }]);
    await assert.rejects(unknown.call({ to: strict.uri }).established);
    assert.equal(strict.tlsClients().length, 1, 'the unknown client was not accepted');
    await unknown.call({ to: lenient.uri }).established;
    assert.deepEqual(lenient.tlsClients(), [{ cn: '127.0.0.1', authorized: false }]);
  });
});
