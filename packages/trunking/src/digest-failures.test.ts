import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DigestAuthenticator } from './digest.js';
import { DigestFailures } from './digest-failures.js';
import { TrunkPolicy } from './trunk-policy.js';
import { asChallenge, asTermination, authorization, CONFIG, GLOBEX_PASSWORD, invite, SECRET, STRANGER } from './testing/trunk-policy-fixtures.js';

const LIMITS = { maxFailures: 3, windowMs: 60_000, blockMs: 300_000, maxTracked: 100 };

describe('DigestFailures', () => {
  it('blocks a source after maxFailures within the window, for blockMs', () => {
    const clock = { now: 0 };
    const failures = new DigestFailures(LIMITS, () => clock.now);
    failures.failed('192.0.2.1', 'alice');
    failures.failed('192.0.2.1', 'bob');
    assert.equal(failures.blocked('192.0.2.1'), false);
    failures.failed('192.0.2.1', 'carol');
    assert.equal(failures.blocked('192.0.2.1'), true);
    assert.equal(failures.blocked('192.0.2.2', 'alice'), false, 'another source, a username that failed once');
    clock.now += 299_999;
    assert.equal(failures.blocked('192.0.2.1'), true);
    clock.now += 1;
    assert.equal(failures.blocked('192.0.2.1'), false);
    assert.equal(failures.snapshot().blocks, 1);
  });

  it('blocks a username tried from many sources', () => {
    const failures = new DigestFailures(LIMITS, () => 0);
    for (const a of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) failures.failed(a, 'alice');
    assert.equal(failures.blocked('192.0.2.9', 'alice'), true);
    assert.equal(failures.blocked('192.0.2.9', 'bob'), false);
    assert.equal(failures.blocked('192.0.2.9'), false);
  });

  it('forgets failures older than the window', () => {
    const clock = { now: 0 };
    const failures = new DigestFailures(LIMITS, () => clock.now);
    failures.failed('192.0.2.1');
    failures.failed('192.0.2.1');
    clock.now += 60_000;
    failures.failed('192.0.2.1');
    assert.equal(failures.blocked('192.0.2.1'), false);
  });

  it('follows at most maxTracked sources and usernames', () => {
    const failures = new DigestFailures({ ...LIMITS, maxTracked: 2 }, () => 0);
    for (let i = 0; i < 5; i++) failures.failed(`192.0.2.${i}`);
    assert.equal(failures.snapshot().tracked, 2);
  });
});

describe('TrunkPolicy.plan with DigestFailures', () => {
  const RURI = 'sip:02079460001@globex.trunks.example';
  const FROM = 'sip:02079460000@pbx.globex.example';

  it('after repeated wrong passwords the source gets 403 without a challenge, even with the right one', () => {
    const failures = new DigestFailures(LIMITS, () => 0);
    const policy = new TrunkPolicy(CONFIG, new DigestAuthenticator({ secret: SECRET }), failures);
    const attempt = (password: string) => {
      const [challenge = ''] = asChallenge(policy.plan(invite({ ruri: RURI, from: FROM }), STRANGER)).headers.map((h) => h[1]);
      const credentials = authorization(challenge, { username: 'globex-pbx', password, uri: RURI });
      return policy.plan(invite({ ruri: RURI, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER);
    };
    for (let i = 0; i < 3; i++) {
      const refused = attempt('guess');
      assert.equal(refused.kind === 'refused' ? refused.cause : refused.kind, 'auth-failed');
    }
    const blocked = policy.plan(invite({ ruri: RURI, from: FROM }), STRANGER);
    assert.equal(blocked.kind, 'refused');
    assert.equal(blocked.kind === 'refused' ? `${blocked.status} ${blocked.cause}` : '', '403 auth-throttled');
    assert.equal(new TrunkPolicy(CONFIG, new DigestAuthenticator({ secret: SECRET }), failures).plan(invite({ ruri: RURI, from: FROM }), STRANGER).kind, 'refused', 'a new configuration keeps the block');
  });

  it('a successful attempt carries its nonce and count for the cluster-wide replay check', () => {
    const policy = new TrunkPolicy(CONFIG, new DigestAuthenticator({ secret: SECRET }), new DigestFailures(LIMITS));
    const [challenge = ''] = asChallenge(policy.plan(invite({ ruri: RURI, from: FROM }), STRANGER)).headers.map((h) => h[1]);
    const credentials = authorization(challenge, { username: 'globex-pbx', password: GLOBEX_PASSWORD, uri: RURI, nc: '00000001' });
    const plan = asTermination(policy.plan(invite({ ruri: RURI, from: FROM, headers: [`Proxy-Authorization: ${credentials}`] }), STRANGER));
    assert.equal(plan.digest?.nc, '00000001');
    assert.match(plan.digest?.nonce ?? '', /^[0-9a-z]+\./);
  });
});
