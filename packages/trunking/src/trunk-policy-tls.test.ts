// Unit tests of TrunkPolicy over TLS: carriers and origination URIs reached over TLS, and a trunk that requires it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DigestAuthenticator } from './digest.js';
import { asOrigination, asTermination, invite, SECRET } from './testing/trunk-policy-fixtures.js';
import { TrunkingConfigSchema } from './trunk-config.js';
import { TrunkPolicy } from './trunk-policy.js';

const NANP = { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' };
const PBX = '192.0.2.55';
const CARRIER = '198.51.100.10';

const policy = new TrunkPolicy(TrunkingConfigSchema.parse({
  carriers: [{ id: 'secure', addresses: [{ host: 'sip.secure-carrier.example', transport: 'tls' }], sources: [`${CARRIER}/32`] }],
  trunks: [{
    id: 'acme', domain: 'acme.trunks.example', acl: [`${PBX}/32`], requireTls: true,
    credentials: [{ username: 'acme-pbx', password: 'correct horse battery' }],
    dids: ['+14155550100'],
    origination: { uris: ['sips:pbx.acme.example', 'sip:192.0.2.10:5071;transport=tls'] },
    numberPlan: NANP, routing: [{ prefix: '', carriers: ['secure'] }], callerId: { allowed: [''] },
  }],
}), new DigestAuthenticator({ secret: SECRET }));

describe('TrunkPolicy over TLS', () => {
  it('a carrier over TLS: ;transport=tls (not sips:, RFC 5630), port 5061, its host the name to verify', () => {
    const plan = asTermination(policy.plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example' }), { address: PBX, protocol: 'tls' }));
    const [target] = plan.targets;
    assert.equal(target?.uri.toString(), 'sip:+12025550123@sip.secure-carrier.example:5061;user=phone;transport=tls');
    assert.equal(target?.transport, 'tls');
    assert.equal(target?.host, 'sip.secure-carrier.example');
  });

  it('a trunk that requires TLS refuses its ACL sources over UDP and TCP with 403 TLS Required', () => {
    for (const protocol of ['udp', 'tcp', undefined] as const) {
      const plan = policy.plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example' }), { address: PBX, ...(protocol === undefined ? {} : { protocol }) });
      assert.deepEqual(plan, { kind: 'refused', status: 403, reason: 'TLS Required', cause: 'tls-required', trunk: 'acme', detail: protocol ?? 'udp' });
    }
  });

  it('nor does it challenge a digest customer over a plain transport', () => {
    const plan = policy.plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example' }), { address: '100.64.0.1', protocol: 'tcp' });
    assert.equal(plan.kind, 'refused');
    assert.equal(plan.kind === 'refused' && plan.cause, 'tls-required');
    assert.equal(policy.plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example' }), { address: '100.64.0.1', protocol: 'tls' }).kind, 'challenge');
  });

  it('origination to sips: and ;transport=tls URIs goes over TLS (5061 unless the URI says)', () => {
    const plan = asOrigination(policy.plan(invite({ ruri: 'sip:+14155550100@203.0.113.1' }), { address: CARRIER, protocol: 'udp' }));
    assert.deepEqual(plan.targets.map((t) => [t.uri.toString(), t.transport, t.port]), [
      ['sips:+14155550100@pbx.acme.example', 'tls', 5061],
      ['sip:+14155550100@192.0.2.10:5071;transport=tls', 'tls', 5071],
    ]);
  });
});
