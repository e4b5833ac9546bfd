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
});
