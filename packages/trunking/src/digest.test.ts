// Unit tests of SIP digest authentication (RFC 3261 §22, RFC 8760, RFC 7616).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  DigestAuthenticator,
  digestHa1,
  digestResponse,
  parseDigestCredentials,
  type DigestAlgorithm,
  type DigestCredentials,
  type DigestSecret,
} from './digest.js';

// RFC 7616 §3.9.1.
const RFC = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  nc: '00000001',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
};

// Computed here from the formulas, not through the module, so a round trip checks the module against them.
function hash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256').update(text).digest('hex');
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const REALM = 'trunks.example.net';
const REQUEST_URI = 'sip:+15551234567@trunks.example.net;user=phone';
const INVITE = { method: 'INVITE', requestUri: REQUEST_URI, realm: REALM };
const USERS: Record<string, string> = { alice: 'correct horse', bob: 'battery staple' };
const byPassword = (username: string): DigestSecret | undefined => {
  const password = USERS[username];
  return password === undefined ? undefined : { password };
};

function nonceOf(challenge: string | undefined): string {
  const match = /nonce="([^"]+)"/.exec(challenge ?? '');
  assert.ok(match?.[1], `no nonce in ${challenge}`);
  return match[1];
}

interface ClientAnswer {
  algorithm?: DigestAlgorithm;
  username?: string;
  password?: string;
  realm?: string;
  uri?: string;
  method?: string;
  nc?: string;
  cnonce?: string;
  qop?: boolean;
}

/** What a well-behaved UAC sends back for `nonce`. */
function clientCredentials(nonce: string, answer: ClientAnswer = {}): DigestCredentials {
  const algorithm = answer.algorithm ?? 'SHA-256';
  const username = answer.username ?? 'alice';
  const password = answer.password ?? USERS[username] ?? 'nobody';
  const realm = answer.realm ?? REALM;
  const uri = answer.uri ?? REQUEST_URI;
  const ha1 = hash(algorithm, `${username}:${realm}:${password}`);
  const ha2 = hash(algorithm, `${answer.method ?? 'INVITE'}:${uri}`);
  if (answer.qop === false) {
    return { username, realm, nonce, uri, algorithm, response: hash(algorithm, `${ha1}:${nonce}:${ha2}`) };
  }
  const nc = answer.nc ?? '00000001';
  const cnonce = answer.cnonce ?? '0a4f113b';
  const response = hash(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return { username, realm, nonce, uri, algorithm, response, qop: 'auth', nc, cnonce };
}

function authenticator(options: { now?: () => number; secret?: string; maxTracked?: number } = {}) {
  return new DigestAuthenticator({ secret: options.secret ?? 'cluster-secret', nonceTtlMs: 300_000, ...options });
}

describe('digestResponse', () => {
  it('matches the RFC 7616 §3.9.1 MD5 vector', () => {
    const ha1 = digestHa1('MD5', RFC.username, RFC.realm, RFC.password);
    const response = digestResponse({
      algorithm: 'MD5', ha1, method: RFC.method, uri: RFC.uri, nonce: RFC.nonce, qop: 'auth', nc: RFC.nc, cnonce: RFC.cnonce,
    });
    assert.equal(response, '8ca523f5e9506fed4657c9700eebdbec');
  });

  it('matches the RFC 7616 §3.9.1 SHA-256 vector', () => {
    const ha1 = digestHa1('SHA-256', RFC.username, RFC.realm, RFC.password);
    const response = digestResponse({
      algorithm: 'SHA-256', ha1, method: RFC.method, uri: RFC.uri, nonce: RFC.nonce, qop: 'auth', nc: RFC.nc, cnonce: RFC.cnonce,
    });
    assert.equal(response, '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('accepts an upper-case stored HA1', () => {
    const ha1 = digestHa1('MD5', RFC.username, RFC.realm, RFC.password).toUpperCase();
    const response = digestResponse({
      algorithm: 'MD5', ha1, method: RFC.method, uri: RFC.uri, nonce: RFC.nonce, qop: 'auth', nc: RFC.nc, cnonce: RFC.cnonce,
    });
    assert.equal(response, '8ca523f5e9506fed4657c9700eebdbec');
  });

  it('without qop uses the RFC 2069 form H(HA1:nonce:HA2)', () => {
    const ha1 = digestHa1('MD5', RFC.username, RFC.realm, RFC.password);
    const expected = hash('MD5', `${ha1}:${RFC.nonce}:${hash('MD5', `${RFC.method}:${RFC.uri}`)}`);
    assert.equal(digestResponse({ algorithm: 'MD5', ha1, method: RFC.method, uri: RFC.uri, nonce: RFC.nonce }), expected);
  });

  it('digestHa1 is the lower-case hex of H(username:realm:password) for each algorithm', () => {
    assert.equal(digestHa1('MD5', 'alice', REALM, 'pw'), hash('MD5', `alice:${REALM}:pw`));
    assert.equal(digestHa1('SHA-256', 'alice', REALM, 'pw'), hash('SHA-256', `alice:${REALM}:pw`));
    assert.match(digestHa1('SHA-256', 'alice', REALM, 'pw'), /^[0-9a-f]{64}$/);
  });
});

describe('parseDigestCredentials', () => {
  it('reads the RFC 7616 §3.9.1 Authorization header', () => {
    const header =
      'Digest username="Mufasa",\r\n realm="http-auth@example.org",\r\n uri="/dir/index.html",\r\n algorithm=SHA-256,\r\n' +
      ' nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",\r\n nc=00000001,\r\n' +
      ' cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",\r\n qop=auth,\r\n' +
      ' response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",\r\n' +
      ' opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
    assert.deepEqual(parseDigestCredentials(header), {
      username: RFC.username,
      realm: RFC.realm,
      nonce: RFC.nonce,
      uri: RFC.uri,
      response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
      algorithm: 'SHA-256',
      cnonce: RFC.cnonce,
      nc: RFC.nc,
      qop: 'auth',
      opaque: RFC.opaque,
    });
  });

  it('takes MD5 when algorithm is absent and leaves optional fields out', () => {
    const parsed = parseDigestCredentials('Digest username="bob", realm="r", nonce="n", uri="sip:x@y", response="abc"');
    assert.deepEqual(parsed, { username: 'bob', realm: 'r', nonce: 'n', uri: 'sip:x@y', response: 'abc', algorithm: 'MD5' });
  });

  it('ignores the case of the scheme, parameter names and algorithm', () => {
    const parsed = parseDigestCredentials('DIGEST UserName="bob", REALM="r", Nonce="n", URI="sip:x@y", Response="abc", ALGORITHM=sha-256');
    assert.equal(parsed?.username, 'bob');
    assert.equal(parsed?.uri, 'sip:x@y');
    assert.equal(parsed?.algorithm, 'SHA-256');
  });

  it('reads unquoted values, whitespace around = and empty list elements', () => {
    const parsed = parseDigestCredentials('Digest username = bob ,, realm=r,nonce=n, uri=sip:x@y, response=abc, qop="auth", nc=00000002');
    assert.deepEqual(parsed, {
      username: 'bob', realm: 'r', nonce: 'n', uri: 'sip:x@y', response: 'abc', algorithm: 'MD5', qop: 'auth', nc: '00000002',
    });
  });

  it('unescapes quoted-pairs and keeps commas inside quotes', () => {
    const parsed = parseDigestCredentials(
      'Digest username="a\\"b\\\\c", realm="r, with comma", nonce="n", uri="sip:x@y", response="abc"',
    );
    assert.equal(parsed?.username, 'a"b\\c');
    assert.equal(parsed?.realm, 'r, with comma');
  });

  it('is undefined when a required field is missing', () => {
    const fields = ['username="bob"', 'realm="r"', 'nonce="n"', 'uri="sip:x@y"', 'response="abc"'];
    assert.ok(parseDigestCredentials(`Digest ${fields.join(', ')}`), 'the complete header must parse');
    for (const left of fields) {
      const header = `Digest ${fields.filter((f) => f !== left).join(', ')}`;
      assert.equal(parseDigestCredentials(header), undefined, header);
    }
  });

  it('is undefined for another scheme or no scheme', () => {
    assert.equal(parseDigestCredentials('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='), undefined);
    assert.equal(parseDigestCredentials('Basic username="bob", realm="r", nonce="n", uri="sip:x@y", response="abc"'), undefined);
    assert.equal(parseDigestCredentials('username="bob", realm="r", nonce="n", uri="sip:x@y", response="abc"'), undefined);
    assert.equal(parseDigestCredentials('Digestusername="bob", realm="r", nonce="n", uri="sip:x@y", response="abc"'), undefined);
  });

  it('is undefined for an algorithm we do not implement', () => {
    const base = 'Digest username="bob", realm="r", nonce="n", uri="sip:x@y", response="abc", algorithm=';
    assert.equal(parseDigestCredentials(`${base}MD5`)?.algorithm, 'MD5');
    for (const algorithm of ['MD5-sess', 'SHA-256-sess', 'SHA-512-256', 'AKAv1-MD5']) {
      assert.equal(parseDigestCredentials(base + algorithm), undefined, algorithm);
    }
  });

  it('is undefined on broken syntax or a repeated parameter', () => {
    const good = 'username="bob", realm="r", nonce="n", uri="sip:x@y", response="abc"';
    for (const header of [
      `Digest ${good}, opaque="never closed`,
      `Digest ${good}, opaque="ends in a backslash\\`,
      `Digest ${good}, opaque`,
      `Digest ${good}, opaque=`,
      `Digest ${good} opaque="x"`,
      `Digest ${good}, username="mallory"`,
      `Digest ${good}, REALM="r"`,
    ]) {
      assert.equal(parseDigestCredentials(header), undefined, header);
    }
  });
});

describe('DigestAuthenticator.challenge', () => {
  it('offers SHA-256 then MD5 with one nonce and qop="auth"', () => {
    const [sha256, md5, extra] = authenticator().challenge(REALM);
    assert.equal(extra, undefined);
    const nonce = nonceOf(sha256);
    assert.equal(sha256, `Digest realm="${REALM}", nonce="${nonce}", algorithm=SHA-256, qop="auth"`);
    assert.equal(md5, `Digest realm="${REALM}", nonce="${nonce}", algorithm=MD5, qop="auth"`);
  });

  it('adds stale=true only when asked', () => {
    const auth = authenticator();
    for (const value of auth.challenge(REALM, { stale: true })) assert.match(value, /, stale=true$/);
    for (const value of auth.challenge(REALM, { stale: false })) assert.doesNotMatch(value, /stale/);
  });

  it('escapes quotes and backslashes in the realm', () => {
    const [sha256] = authenticator().challenge('a"b\\c');
    assert.ok(sha256?.startsWith('Digest realm="a\\"b\\\\c", '), sha256);
  });

  it('issues a different nonce to each challenge, even within one millisecond', () => {
    const auth = authenticator({ now: () => 1_700_000_000_000 });
    assert.notEqual(nonceOf(auth.challenge(REALM)[0]), nonceOf(auth.challenge(REALM)[0]));
  });

  it('refuses an empty secret or a non-positive TTL', () => {
    assert.throws(() => new DigestAuthenticator({ secret: '' }), RangeError);
    assert.throws(() => new DigestAuthenticator({ secret: 's', nonceTtlMs: 0 }), RangeError);
  });
});

describe('DigestAuthenticator.verify', () => {
  for (const algorithm of ['SHA-256', 'MD5'] as const) {
    it(`accepts a ${algorithm} answer computed from the password`, () => {
      const auth = authenticator();
      const nonce = nonceOf(auth.challenge(REALM)[0]);
      const credentials = clientCredentials(nonce, { algorithm });
      assert.deepEqual(auth.verify(credentials, INVITE, byPassword), { ok: true, username: 'alice' });
    });

    it(`accepts a ${algorithm} answer checked against a stored HA1`, () => {
      const auth = authenticator();
      const nonce = nonceOf(auth.challenge(REALM)[0]);
      const ha1 = { [algorithm]: digestHa1(algorithm, 'bob', REALM, 'battery staple') };
      const verdict = auth.verify(clientCredentials(nonce, { algorithm, username: 'bob' }), INVITE, (username) =>
        username === 'bob' ? { ha1 } : undefined,
      );
      assert.deepEqual(verdict, { ok: true, username: 'bob' });
    });
  }

  it('accepts the answer on another worker sharing the secret', () => {
    const nonce = nonceOf(authenticator().challenge(REALM)[0]);
    assert.equal(authenticator().verify(clientCredentials(nonce), INVITE, byPassword).ok, true);
  });

  it('accepts a Request-URI that differs only by surrounding whitespace', () => {
    const auth = authenticator();
    const credentials = clientCredentials(nonceOf(auth.challenge(REALM)[0]));
    assert.equal(auth.verify(credentials, { ...INVITE, requestUri: ` ${REQUEST_URI} ` }, byPassword).ok, true);
  });

  it('accepts an answer without qop (RFC 2069 form) and rejects a wrong one', () => {
    const auth = authenticator();
    const nonce = nonceOf(auth.challenge(REALM)[0]);
    assert.deepEqual(auth.verify(clientCredentials(nonce, { qop: false }), INVITE, byPassword), { ok: true, username: 'alice' });
    const wrong = clientCredentials(nonce, { qop: false, password: 'guess' });
    assert.deepEqual(auth.verify(wrong, INVITE, byPassword), { ok: false, reason: 'wrong-response' });
  });

  it('rejects a wrong password', () => {
    const auth = authenticator();
    const credentials = clientCredentials(nonceOf(auth.challenge(REALM)[0]), { password: 'correct horse!' });
    assert.deepEqual(auth.verify(credentials, INVITE, byPassword), { ok: false, reason: 'wrong-response' });
  });

  it('rejects a response digest of the wrong method', () => {
    const auth = authenticator();
    const credentials = clientCredentials(nonceOf(auth.challenge(REALM)[0]), { method: 'REGISTER' });
    assert.deepEqual(auth.verify(credentials, INVITE, byPassword), { ok: false, reason: 'wrong-response' });
  });

  it('rejects an algorithm the user has no stored HA1 for', () => {
    const auth = authenticator();
    const credentials = clientCredentials(nonceOf(auth.challenge(REALM)[0]), { algorithm: 'SHA-256' });
    const md5Only = (): DigestSecret => ({ ha1: { MD5: digestHa1('MD5', 'alice', REALM, 'correct horse') } });
    assert.deepEqual(auth.verify(credentials, INVITE, md5Only), { ok: false, reason: 'wrong-response' });
  });

  it('rejects an unknown user', () => {
    const auth = authenticator();
    const credentials = clientCredentials(nonceOf(auth.challenge(REALM)[0]), { username: 'mallory', password: 'x' });
    assert.deepEqual(auth.verify(credentials, INVITE, byPassword), { ok: false, reason: 'unknown-user' });
  });

  it('rejects credentials for another realm', () => {
    const auth = authenticator();
    const credentials = clientCredentials(nonceOf(auth.challenge('other.example.net')[0]), { realm: 'other.example.net' });
    assert.deepEqual(auth.verify(credentials, INVITE, byPassword), { ok: false, reason: 'wrong-realm' });
  });

  it('rejects a nonce issued for another realm', () => {
    const auth = authenticator();
    const credentials = clientCredentials(nonceOf(auth.challenge('other.example.net')[0]));
    assert.deepEqual(auth.verify(credentials, INVITE, byPassword), { ok: false, reason: 'bad-nonce' });
  });

  it('rejects a tampered, foreign or made-up nonce', () => {
    const auth = authenticator();
    const nonce = nonceOf(auth.challenge(REALM)[0]);
    const [issued = '', salt = '', mac = ''] = nonce.split('.');
    // '0' and '1' are valid in base36 and base64url, so the forgery passes the format and must fail the MAC.
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1);
    const forged = [
      `${flip(issued, issued.length - 1)}.${salt}.${mac}`,
      `${issued}.${flip(salt, 0)}.${mac}`,
      `${issued}.${salt}.${flip(mac, 0)}`,
      // Same decoded bytes, different text: the last base64url character of 16 bytes carries 4 padding bits.
      `${issued}.${salt}.${mac.slice(0, -1)}${BASE64URL[BASE64URL.indexOf(mac.slice(-1)) | 1]}`,
      nonceOf(authenticator({ secret: 'another-cluster' }).challenge(REALM)[0]),
      RFC.nonce,
      '',
    ];
    for (const bad of forged) {
      assert.deepEqual(auth.verify(clientCredentials(bad), INVITE, byPassword), { ok: false, reason: 'bad-nonce' }, bad);
    }
  });

  it('rejects a nonce dated in the future', () => {
    let now = 1_700_000_000_000;
    const auth = authenticator({ now: () => now });
    const nonce = nonceOf(auth.challenge(REALM)[0]);
    now -= 120_000;
    assert.deepEqual(auth.verify(clientCredentials(nonce), INVITE, byPassword), { ok: false, reason: 'bad-nonce' });
  });

  it('calls an expired nonce stale when the digest is right, and only then', () => {
    let now = 1_700_000_000_000;
    const auth = authenticator({ now: () => now });
    const nonce = nonceOf(auth.challenge(REALM)[0]);
    now += 299_999;
    assert.equal(auth.verify(clientCredentials(nonce, { nc: '00000001' }), INVITE, byPassword).ok, true);
    now += 1;
    assert.deepEqual(auth.verify(clientCredentials(nonce, { nc: '00000002' }), INVITE, byPassword), { ok: false, reason: 'stale' });
    const wrong = clientCredentials(nonce, { nc: '00000003', password: 'guess' });
    assert.deepEqual(auth.verify(wrong, INVITE, byPassword), { ok: false, reason: 'wrong-response' });
  });

  it('rejects a digest-uri other than the Request-URI', () => {
    const auth = authenticator();
    const credentials = clientCredentials(nonceOf(auth.challenge(REALM)[0]), { uri: 'sip:+15550000000@trunks.example.net' });
    assert.deepEqual(auth.verify(credentials, INVITE, byPassword), { ok: false, reason: 'uri-mismatch' });
  });

  it('rejects a repeated or lower nc for a nonce and accepts a higher one', () => {
    const auth = authenticator();
    const nonce = nonceOf(auth.challenge(REALM)[0]);
    const withNc = (nc: string) => auth.verify(clientCredentials(nonce, { nc }), INVITE, byPassword);
    assert.equal(withNc('00000002').ok, true);
    assert.deepEqual(withNc('00000002'), { ok: false, reason: 'replay' });
    assert.deepEqual(withNc('00000001'), { ok: false, reason: 'replay' });
    assert.equal(withNc('0000000a').ok, true);
  });

  it('does not let a wrong answer raise the nc it will accept', () => {
    const auth = authenticator();
    const nonce = nonceOf(auth.challenge(REALM)[0]);
    const forged = clientCredentials(nonce, { nc: '000000ff', password: 'guess' });
    assert.deepEqual(auth.verify(forged, INVITE, byPassword), { ok: false, reason: 'wrong-response' });
    assert.equal(auth.verify(clientCredentials(nonce, { nc: '00000001' }), INVITE, byPassword).ok, true);
  });

  it('forgets the oldest nonce once maxTracked nonces are remembered', () => {
    const auth = authenticator({ maxTracked: 1 });
    const first = nonceOf(auth.challenge(REALM)[0]);
    const second = nonceOf(auth.challenge(REALM)[0]);
    assert.equal(auth.verify(clientCredentials(first), INVITE, byPassword).ok, true);
    assert.deepEqual(auth.verify(clientCredentials(first), INVITE, byPassword), { ok: false, reason: 'replay' });
    assert.equal(auth.verify(clientCredentials(second), INVITE, byPassword).ok, true);
    // Best-effort: with room for one nonce, the first one's count is gone.
    assert.equal(auth.verify(clientCredentials(first), INVITE, byPassword).ok, true);
  });

  it('calls credentials malformed when qop is unusable or the response is not a digest', () => {
    const auth = authenticator();
    const good = clientCredentials(nonceOf(auth.challenge(REALM)[0]));
    assert.deepEqual(auth.verify({ ...good, nc: '00000009' }, INVITE, byPassword), { ok: false, reason: 'wrong-response' });
    const broken: DigestCredentials[] = [
      { ...good, qop: 'auth-int' },
      { ...good, nc: undefined },
      { ...good, cnonce: undefined },
      { ...good, nc: '1' },
      { ...good, nc: '0000000g' },
      { ...good, nc: '00000000' },
      { ...good, response: good.response.slice(1) },
      { ...good, response: `z${good.response.slice(1)}` },
    ];
    for (const credentials of broken) {
      assert.deepEqual(auth.verify(credentials, INVITE, byPassword), { ok: false, reason: 'malformed' }, JSON.stringify(credentials));
    }
  });

  it('accepts a parsed header end to end', () => {
    const auth = authenticator();
    const c = clientCredentials(nonceOf(auth.challenge(REALM)[1]), { algorithm: 'MD5' });
    const header =
      `Digest username="${c.username}", realm="${c.realm}", nonce="${c.nonce}", uri="${c.uri}", ` +
      `response="${c.response}", algorithm=MD5, cnonce="${c.cnonce}", nc=${c.nc}, qop=auth`;
    const parsed = parseDigestCredentials(header);
    assert.ok(parsed);
    assert.deepEqual(auth.verify(parsed, INVITE, byPassword), { ok: true, username: 'alice' });
  });
});
