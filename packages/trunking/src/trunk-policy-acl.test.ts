// Unit tests of TrunkPolicy.plan for a customer known by its source address (ACL), and for sources no trunk knows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DigestAuthenticator } from './digest.js';
import {
  ACME_PBX, asTermination, authorization, CARRIER_A, CARRIER_B, invite, policyWith, SECRET, STRANGER, targetsOf,
} from './testing/trunk-policy-fixtures.js';

describe('TrunkPolicy.plan', () => {
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
});

describe('TrunkPolicy.edgeSources', () => {
  it('names every network knowsSource accepts, the origination targets that are addresses, and the digest domains', () => {
    const policy = policyWith();
    const { networks, domains } = policy.edgeSources();
    assert.deepEqual(networks.sort(), ['192.0.2.0/24', '192.0.2.10', '198.18.0.0/15', '198.51.100.10', '198.51.100.11', '2001:db8:ac::/48', '203.0.113.0/24']);
    assert.deepEqual(domains.sort(), ['globex.trunks.example', 'initech.trunks.example']);
    for (const a of [ACME_PBX, CARRIER_A, CARRIER_B]) assert.equal(policy.knowsSource(a.address), true);
    assert.equal(policy.knowsSource(STRANGER.address), false);
  });
});
