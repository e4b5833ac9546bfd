// Unit tests of TrunkPolicy.plan: who sent an INVITE (carrier, customer by ACL or digest) and where it goes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseMessage, SipRequest } from '@switchboard/sip';
import { DigestAuthenticator } from './digest.js';
import { TrunkingConfigSchema } from './trunk-config.js';
import { TrunkPolicy, type CallPlan, type OriginationPlan, type TerminationPlan } from './trunk-policy.js';

const NANP = { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' };
const UK = { countryCode: '44', nationalPrefix: '0', internationalPrefix: '00' };

const GLOBEX_PASSWORD = 'correct horse battery';
const INITECH_PASSWORD = 'tps reports cover';

const CONFIG = TrunkingConfigSchema.parse({
  carriers: [
    {
      // its sources default to its IP-literal addresses
      id: 'carrier-a',
      addresses: [{ host: '198.51.100.10' }, { host: '198.51.100.11', port: 5080, transport: 'tcp' }],
    },
    {
      id: 'carrier-b',
      addresses: [{ host: 'sip.carrier-b.example' }],
      sources: ['203.0.113.0/24'],
      failoverOn: [503],
      offer: 'delayed',
      numberFormat: 'e164-digits',
      numberPlan: NANP,
    },
  ],
  trunks: [
    {
      id: 'acme',
      domain: 'acme.trunks.example',
      acl: ['192.0.2.0/24', '2001:db8:ac::/48'],
      dids: ['+14155550100', '+14155550101'],
      origination: { uris: ['sip:pbx.acme.example;transport=tcp', 'sip:ivr@192.0.2.10:5070'] },
      numberPlan: NANP,
      routing: [
        { prefix: '', carriers: ['carrier-a', 'carrier-b'] },
        { prefix: '+44', carriers: ['carrier-b'] },
        { prefix: '1212', carriers: ['carrier-b', 'carrier-a'] },
      ],
      restrictions: { blocked: [{ prefix: '1900', name: 'premium-rate' }], maxConcurrent: 10, maxCps: 2 },
      callerId: { allowed: ['1415555'] },
    },
    {
      id: 'globex',
      domain: 'globex.trunks.example',
      credentials: [{ username: 'globex-pbx', password: GLOBEX_PASSWORD }],
      dids: ['+442079460000'],
      origination: { uris: ['sip:pbx.globex.example'], failoverOn: [503] },
      numberPlan: UK,
      routing: [{ prefix: '44', carriers: ['carrier-b'] }],
      restrictions: { allowedPrefixes: ['44'], maxConcurrent: 4 },
      callerId: { onViolation: 'replace', default: '+442079460000' },
    },
    {
      id: 'initech',
      domain: 'initech.trunks.example',
      acl: ['198.18.0.0/15'],
      credentials: [{ username: 'initech-pbx', password: INITECH_PASSWORD }],
      numberPlan: NANP,
      routing: [{ prefix: '1', carriers: ['carrier-a'] }],
      callerId: { allowed: [''] },
    },
  ],
});

const SECRET = 'cluster-shared-secret';
const policyWith = (digest = new DigestAuthenticator({ secret: SECRET })) => new TrunkPolicy(CONFIG, digest);

const ACME_PBX = { address: '192.0.2.55' };
const CARRIER_A = { address: '198.51.100.10' };
const CARRIER_B = { address: '203.0.113.77' };
const STRANGER = { address: '100.64.0.1' };

let n = 0;

/** An INVITE as a customer or carrier sends it, parsed from text. */
function invite(opts: { ruri: string; from?: string; headers?: string[] }): SipRequest {
  const id = ++n;
  const text = [
    `INVITE ${opts.ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.55:5060;branch=z9hG4bKt${id}x`,
    'Max-Forwards: 70',
    `From: "Desk" <${opts.from ?? 'sip:+14155550100@pbx.example'}>;tag=f${id}`,
    `To: <${opts.ruri}>`,
    `Call-ID: t${id}@pbx.example`,
    'CSeq: 1 INVITE',
    'Contact: <sip:pbx@192.0.2.55:5060>',
    ...(opts.headers ?? []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const message = parseMessage(Buffer.from(text));
  assert.ok(message instanceof SipRequest);
  return message;
}

function md(algorithm: 'MD5' | 'SHA-256', text: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256').update(text).digest('hex');
}

/** A Proxy-Authorization value answering `challenge`, computed from RFC 7616 §3.4.1 here rather than by the module. */
function authorization(challenge: string, opts: { username: string; password: string; uri: string; realm?: string; method?: string; nc?: string; cnonce?: string }): string {
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1];
  const algorithm = /algorithm=(SHA-256|MD5)/.exec(challenge)?.[1] as 'MD5' | 'SHA-256' | undefined;
  const realm = opts.realm ?? /realm="([^"]+)"/.exec(challenge)?.[1];
  assert.ok(nonce !== undefined && algorithm !== undefined && realm !== undefined, `not a challenge: ${challenge}`);
  const nc = opts.nc ?? '00000001';
  const cnonce = opts.cnonce ?? '0a4f113b';
  const ha1 = md(algorithm, `${opts.username}:${realm}:${opts.password}`);
  const ha2 = md(algorithm, `${opts.method ?? 'INVITE'}:${opts.uri}`);
  const response = md(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${opts.username}", realm="${realm}", nonce="${nonce}", uri="${opts.uri}", response="${response}", algorithm=${algorithm}, cnonce="${cnonce}", nc=${nc}, qop=auth`;
}

function asTermination(plan: CallPlan): TerminationPlan {
  assert.equal(plan.kind, 'termination', `expected termination, got ${JSON.stringify(plan)}`);
  return plan as TerminationPlan;
}

function asOrigination(plan: CallPlan): OriginationPlan {
  assert.equal(plan.kind, 'origination', `expected origination, got ${JSON.stringify(plan)}`);
  return plan as OriginationPlan;
}

function asChallenge(plan: CallPlan): Extract<CallPlan, { kind: 'challenge' }> {
  assert.equal(plan.kind, 'challenge', `expected challenge, got ${JSON.stringify(plan)}`);
  return plan as Extract<CallPlan, { kind: 'challenge' }>;
}

/** The targets without the carrier object, as comparable data. */
const targetsOf = (plan: TerminationPlan | OriginationPlan) =>
  plan.targets.map((t) => ({ uri: t.uri.toString(), host: t.host, port: t.port, transport: t.transport, carrier: t.carrier?.id, failoverOn: t.failoverOn, offer: t.offer }));

describe('TrunkPolicy.plan', () => {
  describe('origination (a carrier’s INVITE to a DID)', () => {
    it('goes to the DID’s trunk, its origination URIs in order', () => {
      const plan = asOrigination(policyWith().plan(invite({ ruri: 'sip:+14155550101@203.0.113.1;user=phone', from: 'sip:+12125550123@198.51.100.10' }), CARRIER_A));
      assert.equal(plan.trunk.id, 'acme');
      assert.equal(plan.carrier.id, 'carrier-a');
      assert.equal(plan.dialled, '+14155550101');
      assert.equal(plan.called, '+14155550101');
      assert.equal(plan.caller, '+12125550123');
      assert.equal(plan.anonymous, false);
      assert.deepEqual(targetsOf(plan), [
        // a URI without a user gets the DID; transport from its parameter
        { uri: 'sip:+14155550101@pbx.acme.example;transport=tcp', host: 'pbx.acme.example', port: 5060, transport: 'tcp', carrier: undefined, failoverOn: [408, '5xx'], offer: 'early' },
        // a URI with a user keeps it; its port is kept
        { uri: 'sip:ivr@192.0.2.10:5070', host: '192.0.2.10', port: 5070, transport: 'udp', carrier: undefined, failoverOn: [408, '5xx'], offer: 'early' },
      ]);
      assert.deepEqual(plan.limit, { key: 'trunk.acme', maxConcurrent: 10 });
    });

    it('uses the trunk’s origination failover set', () => {
      const plan = asOrigination(policyWith().plan(invite({ ruri: 'sip:+442079460000@203.0.113.1' }), CARRIER_A));
      assert.equal(plan.trunk.id, 'globex');
      assert.deepEqual(targetsOf(plan), [
        { uri: 'sip:+442079460000@pbx.globex.example', host: 'pbx.globex.example', port: 5060, transport: 'udp', carrier: undefined, failoverOn: [503], offer: 'early' },
      ]);
      assert.deepEqual(plan.limit, { key: 'trunk.globex', maxConcurrent: 4 });
    });

    it('reads a DID without + from a carrier without a number plan', () => {
      const plan = asOrigination(policyWith().plan(invite({ ruri: 'sip:14155550100@203.0.113.1' }), CARRIER_A));
      assert.equal(plan.dialled, '14155550100');
      assert.equal(plan.called, '+14155550100');
      assert.equal(plan.targets[0]?.uri.user, '+14155550100');
    });

    it('reads national numbers under the carrier’s own plan', () => {
      const plan = asOrigination(policyWith().plan(invite({ ruri: 'sip:4155550101@203.0.113.1', from: 'sip:2125550123@203.0.113.77' }), CARRIER_B));
      assert.equal(plan.carrier.id, 'carrier-b');
      assert.equal(plan.called, '+14155550101');
      assert.equal(plan.caller, '+12125550123');
    });

    it('drops user parameters of the Request-URI (npdi)', () => {
      const plan = asOrigination(policyWith().plan(invite({ ruri: 'sip:+14155550100;npdi;rn=+14155559999@203.0.113.1;user=phone' }), CARRIER_A));
      assert.equal(plan.called, '+14155550100');
    });

    it('recognises a carrier by a source in its sources block', () => {
      const plan = asOrigination(policyWith().plan(invite({ ruri: 'sip:+14155550100@203.0.113.1' }), { address: '203.0.113.250' }));
      assert.equal(plan.carrier.id, 'carrier-b');
    });

    it('recognises a carrier by its IPv4-mapped IPv6 source', () => {
      const plan = asOrigination(policyWith().plan(invite({ ruri: 'sip:+14155550100@203.0.113.1' }), { address: '::ffff:198.51.100.11' }));
      assert.equal(plan.carrier.id, 'carrier-a');
    });

    it('takes the caller from P-Asserted-Identity before From', () => {
      const plan = asOrigination(policyWith().plan(invite({
        ruri: 'sip:+14155550100@203.0.113.1',
        from: 'sip:+12125550123@198.51.100.10',
        headers: ['P-Asserted-Identity: "Jane" <tel:+13125550199>'],
      }), CARRIER_A));
      assert.equal(plan.caller, '+13125550199');
    });

    it('marks an anonymous caller', () => {
      const plan = asOrigination(policyWith().plan(invite({
        ruri: 'sip:+14155550100@203.0.113.1',
        from: 'sip:anonymous@anonymous.invalid',
        headers: ['P-Asserted-Identity: <sip:+13125550199@198.51.100.10>', 'Privacy: id'],
      }), CARRIER_A));
      assert.equal(plan.anonymous, true);
      assert.equal(plan.caller, '+13125550199');
    });

    it('a withheld caller without an asserted number has no caller number', () => {
      const plan = asOrigination(policyWith().plan(invite({ ruri: 'sip:+14155550100@203.0.113.1', from: 'sip:anonymous@anonymous.invalid' }), CARRIER_A));
      assert.equal(plan.anonymous, true);
      assert.equal(plan.caller, undefined);
    });

    it('refuses a number that is no DID with 404, naming no trunk', () => {
      const plan = policyWith().plan(invite({ ruri: 'sip:+14155550199@203.0.113.1' }), CARRIER_A);
      assert.deepEqual(plan, { kind: 'refused', status: 404, reason: 'Not Found', cause: 'unknown-did', detail: '+14155550199' });
    });

    it('refuses a Request-URI that is not a number with 404 unknown-did', () => {
      const plan = policyWith().plan(invite({ ruri: 'sip:switchboard@203.0.113.1' }), CARRIER_A);
      assert.equal(plan.kind, 'refused');
      assert.equal(plan.kind === 'refused' && plan.status, 404);
      assert.equal(plan.kind === 'refused' && plan.cause, 'unknown-did');
    });

    it('treats a carrier as a carrier even when it addresses a trunk domain', () => {
      const plan = asOrigination(policyWith().plan(invite({ ruri: 'sip:+14155550100@acme.trunks.example' }), CARRIER_A));
      assert.equal(plan.trunk.id, 'acme');
    });
  });

  describe('termination, customer identified by ACL', () => {
    it('routes to the rule’s carriers × their addresses, in order', () => {
      const plan = asTermination(policyWith().plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example;user=phone' }), ACME_PBX));
      assert.equal(plan.trunk.id, 'acme');
      assert.equal(plan.identifiedBy, 'acl');
      assert.equal(plan.dialled, '+12025550123');
      assert.equal(plan.called, '+12025550123');
      assert.deepEqual(plan.caller, { number: '+14155550100', anonymous: false, replaced: false });
      assert.deepEqual(targetsOf(plan), [
        { uri: 'sip:+12025550123@198.51.100.10:5060;user=phone', host: '198.51.100.10', port: 5060, transport: 'udp', carrier: 'carrier-a', failoverOn: [408, '5xx'], offer: 'early' },
        { uri: 'sip:+12025550123@198.51.100.11:5080;user=phone;transport=tcp', host: '198.51.100.11', port: 5080, transport: 'tcp', carrier: 'carrier-a', failoverOn: [408, '5xx'], offer: 'early' },
        // carrier-b writes numbers without +
        { uri: 'sip:12025550123@sip.carrier-b.example:5060;user=phone', host: 'sip.carrier-b.example', port: 5060, transport: 'udp', carrier: 'carrier-b', failoverOn: [503], offer: 'delayed' },
      ]);
      assert.deepEqual(plan.limit, { key: 'trunk.acme', maxConcurrent: 10, maxPerSecond: 2 });
    });

    it('the carriers come in the rule’s order', () => {
      const plan = asTermination(policyWith().plan(invite({ ruri: 'sip:+12125550199@acme.trunks.example' }), ACME_PBX));
      assert.deepEqual(plan.targets.map((t) => `${t.carrier?.id} ${t.host}`), [
        'carrier-b sip.carrier-b.example',
        'carrier-a 198.51.100.10',
        'carrier-a 198.51.100.11',
      ]);
    });

    it('the longest prefix chooses the route', () => {
      const plan = asTermination(policyWith().plan(invite({ ruri: 'sip:011442079460001@acme.trunks.example' }), ACME_PBX));
      assert.equal(plan.dialled, '011442079460001');
      assert.equal(plan.called, '+442079460001');
      assert.deepEqual(plan.targets.map((t) => t.uri.toString()), ['sip:442079460001@sip.carrier-b.example:5060;user=phone']);
    });

    it('normalises a national number under the trunk’s plan', () => {
      const plan = asTermination(policyWith().plan(invite({ ruri: 'sip:2025550123@acme.trunks.example' }), ACME_PBX));
      assert.equal(plan.dialled, '2025550123');
      assert.equal(plan.called, '+12025550123');
      assert.equal(plan.targets[0]?.uri.user, '+12025550123');
    });

    it('identifies the customer by ACL when the Request-URI host is an IP address', () => {
      const plan = asTermination(policyWith().plan(invite({ ruri: 'sip:12025550123@203.0.113.1:5060' }), ACME_PBX));
      assert.equal(plan.trunk.id, 'acme');
      assert.equal(plan.identifiedBy, 'acl');
      assert.equal(plan.called, '+12025550123');
    });

    it('identifies the customer by ACL when the Request-URI is a tel: URI', () => {
      const plan = asTermination(policyWith().plan(invite({ ruri: 'tel:+1-202-555-0123' }), ACME_PBX));
      assert.equal(plan.trunk.id, 'acme');
      assert.equal(plan.dialled, '+1-202-555-0123');
      assert.equal(plan.called, '+12025550123');
    });

    it('identifies the customer by an IPv6 ACL block', () => {
      const plan = asTermination(policyWith().plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example' }), { address: '2001:db8:ac:1::5' }));
      assert.equal(plan.trunk.id, 'acme');
    });

    it('identifies the customer by an IPv4-mapped IPv6 source', () => {
      const plan = asTermination(policyWith().plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example' }), { address: '::ffff:192.0.2.55' }));
      assert.equal(plan.trunk.id, 'acme');
    });

    it('reads the trunk domain in any case', () => {
      const plan = asTermination(policyWith().plan(invite({ ruri: 'sip:+12025550123@ACME.Trunks.Example' }), ACME_PBX));
      assert.equal(plan.trunk.id, 'acme');
    });

    it('refuses a blocked destination with 403 Destination Blocked', () => {
      const plan = policyWith().plan(invite({ ruri: 'sip:+19005550100@acme.trunks.example' }), ACME_PBX);
      assert.deepEqual(plan, { kind: 'refused', status: 403, reason: 'Destination Blocked', cause: 'destination-blocked', trunk: 'acme', detail: 'premium-rate' });
    });

    it('refuses a number that cannot be E.164 with 484', () => {
      const plan = policyWith().plan(invite({ ruri: 'sip:911@acme.trunks.example' }), ACME_PBX);
      assert.deepEqual(plan, { kind: 'refused', status: 484, reason: 'Address Incomplete', cause: 'invalid-number', trunk: 'acme', detail: '911' });
    });

    it('refuses a Request-URI without a user with 484', () => {
      const plan = policyWith().plan(invite({ ruri: 'sip:acme.trunks.example' }), ACME_PBX);
      assert.deepEqual(plan, { kind: 'refused', status: 484, reason: 'Address Incomplete', cause: 'invalid-number', trunk: 'acme', detail: '' });
    });

    it('refuses a destination no rule routes with 404', () => {
      const plan = policyWith().plan(invite({ ruri: 'sip:+442079460001@initech.trunks.example' }), { address: '198.18.0.5' });
      assert.deepEqual(plan, { kind: 'refused', status: 404, reason: 'No Route to Destination', cause: 'no-route', trunk: 'initech', detail: '+442079460001' });
    });

    it('refuses a caller ID the trunk may not present with 403', () => {
      const plan = policyWith().plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example', from: 'sip:+12125550123@pbx.example' }), ACME_PBX);
      assert.deepEqual(plan, { kind: 'refused', status: 403, reason: 'Caller ID Not Allowed', cause: 'caller-id', trunk: 'acme', detail: '+12125550123' });
    });

    it('checks P-Asserted-Identity as well as From', () => {
      const plan = policyWith().plan(invite({
        ruri: 'sip:+12025550123@acme.trunks.example',
        headers: ['P-Asserted-Identity: <sip:+12125550123@pbx.example>'],
      }), ACME_PBX);
      assert.equal(plan.kind, 'refused');
      assert.equal(plan.kind === 'refused' && plan.cause, 'caller-id');
    });

    it('presents a withheld caller’s asserted number, marked anonymous', () => {
      const plan = asTermination(policyWith().plan(invite({
        ruri: 'sip:+12025550123@acme.trunks.example',
        from: 'sip:anonymous@anonymous.invalid',
        headers: ['P-Asserted-Identity: "Desk" <sip:+14155550177@pbx.example>, <tel:+14155550177>', 'Privacy: id'],
      }), ACME_PBX));
      assert.deepEqual(plan.caller, { number: '+14155550177', anonymous: true, replaced: false });
    });

    it('marks Privacy: id anonymous', () => {
      const plan = asTermination(policyWith().plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example', headers: ['Privacy: user; id'] }), ACME_PBX));
      assert.deepEqual(plan.caller, { number: '+14155550100', anonymous: true, replaced: false });
    });

    it('reads a national-format From under the trunk’s plan', () => {
      const plan = asTermination(policyWith().plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example', from: 'sip:4155550101@pbx.example' }), ACME_PBX));
      assert.deepEqual(plan.caller, { number: '+14155550101', anonymous: false, replaced: false });
    });

    it('checks the destination before the caller ID', () => {
      const plan = policyWith().plan(invite({ ruri: 'sip:+19005550100@acme.trunks.example', from: 'sip:+12125550123@pbx.example' }), ACME_PBX);
      assert.equal(plan.kind === 'refused' && plan.cause, 'destination-blocked');
    });
  });

  describe('unknown sources', () => {
    const FORBIDDEN = { kind: 'refused', status: 403, reason: 'Forbidden', cause: 'unknown-source' };

    it('refuses an address in no ACL addressing no trunk domain with 403, naming nothing', () => {
      const plan = policyWith().plan(invite({ ruri: 'sip:+12025550123@switchboard.example' }), STRANGER);
      assert.deepEqual(plan, FORBIDDEN);
    });

    it('refuses an address in no ACL addressing our IP the same', () => {
      const plan = policyWith().plan(invite({ ruri: 'sip:+12025550123@203.0.113.1' }), STRANGER);
      assert.deepEqual(plan, FORBIDDEN);
    });

    it('refuses an address in no ACL addressing an ACL-only trunk’s domain without naming it', () => {
      const plan = policyWith().plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example' }), STRANGER);
      assert.deepEqual(plan, FORBIDDEN);
      assert.doesNotMatch(JSON.stringify(plan), /acme/);
    });

    it('does not challenge when the Request-URI names no trunk domain', () => {
      const plan = policyWith().plan(invite({ ruri: 'sip:+442079460001@203.0.113.1' }), STRANGER);
      assert.deepEqual(plan, FORBIDDEN);
    });

    it('refuses credentials of an unknown user addressing no trunk domain', () => {
      const digest = new DigestAuthenticator({ secret: SECRET });
      const [challenge = ''] = digest.challenge('globex.trunks.example');
      const ruri = 'sip:+442079460001@203.0.113.1';
      const plan = policyWith(digest).plan(invite({ ruri, headers: [`Proxy-Authorization: ${authorization(challenge, { username: 'mallory', password: 'guessed-password', uri: ruri })}`] }), STRANGER);
      assert.deepEqual(plan, FORBIDDEN);
    });
  });

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
