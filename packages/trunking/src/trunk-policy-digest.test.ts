// Unit tests of TrunkPolicy.plan for a customer known by its digest credentials (RFC 3261 §22, RFC 7616).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DigestAuthenticator } from './digest.js';
import {
  asChallenge, asTermination, authorization, GLOBEX_PASSWORD, INITECH_PASSWORD, invite, policyWith, SECRET, STRANGER,
} from './testing/trunk-policy-fixtures.js';

describe('TrunkPolicy.plan', () => {
  describe('termination, customer identified by digest', () => {
    const RURI = 'sip:02079460001@globex.trunks.example';
    const FROM = 'sip:02079460000@pbx.globex.example';

    it('challenges an INVITE to a credentials trunk’s domain with Proxy-Authenticate, SHA-256 then MD5', () => {
      const plan = asChallenge(policyWith().plan(invite({ ruri: RURI, from: FROM }), STRANGER));
      assert.equal(plan.trunk, 'globex');
      assert.equal(plan.headers.length, 2);
      const [sha, md5] = plan.headers;
      assert.equal(sha?.[0], 'Proxy-Authenticate');
      assert.equal(md5?.[0], 'Proxy-Authenticate');
      assert.match(sha?.[1] ?? '', /^Digest realm="globex\.trunks\.example", nonce="[^"]+", algorithm=SHA-256, qop="auth"$/);
      assert.match(md5?.[1] ?? '', /^Digest realm="globex\.trunks\.example", nonce="[^"]+", algorithm=MD5, qop="auth"$/);
      assert.doesNotMatch(sha?.[1] ?? '', /stale/);
    });

    it('challenges a source outside the ACL of a trunk that has both', () => {
      const plan = asChallenge(policyWith().plan(invite({ ruri: 'sip:+12025550123@initech.trunks.example' }), STRANGER));
      assert.equal(plan.trunk, 'initech');
    });

    for (const index of [0, 1]) {
      const algorithm = index === 0 ? 'SHA-256' : 'MD5';
      it(`accepts correct ${algorithm} credentials`, () => {
        const policy = policyWith();
        const challenge = asChallenge(policy.plan(invite({ ruri: RURI, from: FROM }), STRANGER)).headers[index]?.[1] ?? '';
        assert.match(challenge, new RegExp(`algorithm=${algorithm}`));
        const credentials = authorization(challenge, { username: 'globex-pbx', password: GLOBEX_PASSWORD, uri: RURI });
        const plan = asTermination(policy.plan(invite({ ruri: RURI, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER));
        assert.equal(plan.trunk.id, 'globex');
        assert.equal(plan.identifiedBy, 'digest');
        assert.equal(plan.called, '+442079460001');
        assert.deepEqual(plan.caller, { number: '+442079460000', anonymous: false, replaced: false });
        assert.deepEqual(plan.targets.map((t) => t.uri.toString()), ['sip:442079460001@sip.carrier-b.example:5060;user=phone']);
        assert.deepEqual(plan.limit, { key: 'trunk.globex', maxConcurrent: 4, maxPerSecond: undefined });
      });
    }

    it('checks the digest against the Request-URI as written, parameters included', () => {
      const policy = policyWith();
      const ruri = 'sip:+442079460001@globex.trunks.example;user=phone';
      const [challenge = ''] = asChallenge(policy.plan(invite({ ruri, from: FROM }), STRANGER)).headers.map((h) => h[1]);
      const credentials = authorization(challenge, { username: 'globex-pbx', password: GLOBEX_PASSWORD, uri: ruri });
      const plan = asTermination(policy.plan(invite({ ruri, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER));
      assert.equal(plan.identifiedBy, 'digest');
    });

    it('applies the authenticated trunk’s restrictions and caller-ID policy', () => {
      const policy = policyWith();
      const ruri = 'sip:0033142685300@globex.trunks.example';
      const [challenge = ''] = asChallenge(policy.plan(invite({ ruri, from: FROM }), STRANGER)).headers.map((h) => h[1]);
      const credentials = authorization(challenge, { username: 'globex-pbx', password: GLOBEX_PASSWORD, uri: ruri });
      const plan = policy.plan(invite({ ruri, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER);
      assert.deepEqual(plan, { kind: 'refused', status: 403, reason: 'Destination Not Allowed', cause: 'destination-not-allowed', trunk: 'globex', detail: 'allowed-prefixes' });

      const [again = ''] = asChallenge(policy.plan(invite({ ruri: RURI, from: FROM }), STRANGER)).headers.map((h) => h[1]);
      const replaced = asTermination(policy.plan(invite({
        ruri: RURI,
        from: 'sip:+14155550100@pbx.globex.example',
        headers: [`Proxy-Authorization: ${authorization(again, { username: 'globex-pbx', password: GLOBEX_PASSWORD, uri: RURI })}`],
      }), STRANGER));
      assert.deepEqual(replaced.caller, { number: '+442079460000', anonymous: false, replaced: true });
    });

    it('authenticates a user whose INVITE addresses our IP rather than the trunk domain', () => {
      const digest = new DigestAuthenticator({ secret: SECRET });
      const [challenge = ''] = digest.challenge('globex.trunks.example');
      const ruri = 'sip:02079460001@203.0.113.1';
      const credentials = authorization(challenge, { username: 'globex-pbx', password: GLOBEX_PASSWORD, uri: ruri });
      const plan = asTermination(policyWith(digest).plan(invite({ ruri, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER));
      assert.equal(plan.trunk.id, 'globex');
      assert.equal(plan.identifiedBy, 'digest');
    });

    it('refuses a wrong password with 403 auth-failed', () => {
      const policy = policyWith();
      const [challenge = ''] = asChallenge(policy.plan(invite({ ruri: RURI, from: FROM }), STRANGER)).headers.map((h) => h[1]);
      const credentials = authorization(challenge, { username: 'globex-pbx', password: 'not the password', uri: RURI });
      const plan = policy.plan(invite({ ruri: RURI, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER);
      assert.deepEqual(plan, { kind: 'refused', status: 403, reason: 'Forbidden', cause: 'auth-failed', trunk: 'globex', detail: 'wrong-response' });
    });

    it('refuses another trunk’s credentials on this trunk’s domain', () => {
      const policy = policyWith();
      const [challenge = ''] = asChallenge(policy.plan(invite({ ruri: RURI, from: FROM }), STRANGER)).headers.map((h) => h[1]);
      const credentials = authorization(challenge, { username: 'initech-pbx', password: INITECH_PASSWORD, uri: RURI });
      const plan = policy.plan(invite({ ruri: RURI, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER);
      assert.equal(plan.kind, 'refused');
      assert.equal(plan.kind === 'refused' && plan.status, 403);
      assert.equal(plan.kind === 'refused' && plan.cause, 'auth-failed');
    });

    it('refuses credentials computed for another Request-URI', () => {
      const policy = policyWith();
      const [challenge = ''] = asChallenge(policy.plan(invite({ ruri: RURI, from: FROM }), STRANGER)).headers.map((h) => h[1]);
      const credentials = authorization(challenge, { username: 'globex-pbx', password: GLOBEX_PASSWORD, uri: 'sip:02079460002@globex.trunks.example' });
      const plan = policy.plan(invite({ ruri: RURI, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER);
      assert.equal(plan.kind === 'refused' && plan.cause, 'auth-failed');
    });

    it('refuses a replayed Proxy-Authorization', () => {
      const policy = policyWith();
      const [challenge = ''] = asChallenge(policy.plan(invite({ ruri: RURI, from: FROM }), STRANGER)).headers.map((h) => h[1]);
      const credentials = authorization(challenge, { username: 'globex-pbx', password: GLOBEX_PASSWORD, uri: RURI });
      asTermination(policy.plan(invite({ ruri: RURI, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER));
      const replay = policy.plan(invite({ ruri: RURI, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER);
      assert.equal(replay.kind === 'refused' && replay.cause, 'auth-failed');
    });

    it('challenges again with stale=true when the nonce has expired', () => {
      let now = 1_700_000_000_000;
      const policy = policyWith(new DigestAuthenticator({ secret: SECRET, now: () => now }));
      const [challenge = ''] = asChallenge(policy.plan(invite({ ruri: RURI, from: FROM }), STRANGER)).headers.map((h) => h[1]);
      const credentials = authorization(challenge, { username: 'globex-pbx', password: GLOBEX_PASSWORD, uri: RURI });
      now += 10 * 60_000;
      const plan = asChallenge(policy.plan(invite({ ruri: RURI, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER));
      assert.equal(plan.trunk, 'globex');
      assert.equal(plan.headers.length, 2);
      for (const [name, value] of plan.headers) {
        assert.equal(name, 'Proxy-Authenticate');
        assert.match(value, /, stale=true$/);
      }
      const fresh = /nonce="([^"]+)"/.exec(plan.headers[0]?.[1] ?? '')?.[1];
      assert.notEqual(fresh, /nonce="([^"]+)"/.exec(challenge)?.[1]);

      // the fresh nonce works
      const retry = authorization(plan.headers[0]?.[1] ?? '', { username: 'globex-pbx', password: GLOBEX_PASSWORD, uri: RURI });
      assert.equal(asTermination(policy.plan(invite({ ruri: RURI, from: FROM, headers: [`Proxy-Authorization: ${retry}`] }), STRANGER)).identifiedBy, 'digest');
    });

    it('an expired nonce with a wrong password is refused, not challenged as stale', () => {
      let now = 1_700_000_000_000;
      const policy = policyWith(new DigestAuthenticator({ secret: SECRET, now: () => now }));
      const [challenge = ''] = asChallenge(policy.plan(invite({ ruri: RURI, from: FROM }), STRANGER)).headers.map((h) => h[1]);
      const credentials = authorization(challenge, { username: 'globex-pbx', password: 'not the password', uri: RURI });
      now += 10 * 60_000;
      const plan = policy.plan(invite({ ruri: RURI, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER);
      assert.equal(plan.kind === 'refused' && plan.cause, 'auth-failed');
    });

    // RFC 3261 §22.3: a proxy uses the credentials whose realm is its own; others belong to other proxies on the path.
    it('uses the Proxy-Authorization of its realm when a request carries several', () => {
      const policy = policyWith();
      const [challenge = ''] = asChallenge(policy.plan(invite({ ruri: RURI, from: FROM }), STRANGER)).headers.map((h) => h[1]);
      const upstream = authorization(challenge.replace('globex.trunks.example', 'proxy.customer.example'), { username: 'desk-17', password: 'upstream-secret', uri: RURI });
      const ours = authorization(challenge, { username: 'globex-pbx', password: GLOBEX_PASSWORD, uri: RURI });
      const plan = asTermination(policy.plan(invite({ ruri: RURI, from: FROM, headers: [`Proxy-Authorization: ${upstream}`, `Proxy-Authorization: ${ours}`] }), STRANGER));
      assert.equal(plan.identifiedBy, 'digest');
    });
  });
});
