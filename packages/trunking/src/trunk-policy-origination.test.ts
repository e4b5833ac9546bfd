// Unit tests of TrunkPolicy.plan for a carrier's INVITE to a DID (origination).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asOrigination, CARRIER_A, CARRIER_B, invite, policyWith, targetsOf } from './testing/trunk-policy-fixtures.js';

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
});
