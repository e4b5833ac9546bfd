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

const CARRIER_TLS = { caFile: '/etc/switchboard-tls/secure-ca.pem', certFile: '/etc/switchboard-tls/to-secure.crt', keyFile: '/etc/switchboard-tls/to-secure.key', serverName: 'edge.secure-carrier.example' };
const PBX_TLS = { caFile: '/etc/switchboard-tls/acme-ca.pem' };

function config(overrides: { carrierTls?: unknown; originationTls?: unknown; origination?: string[] } = {}) {
  return {
    carriers: [
      { id: 'secure', addresses: [{ host: 'sip.secure-carrier.example', transport: 'tls' }, { host: '198.51.100.11', transport: 'udp' }], sources: [`${CARRIER}/32`], ...(overrides.carrierTls === undefined ? {} : { tls: overrides.carrierTls }) },
    ],
    trunks: [{
      id: 'acme', domain: 'acme.trunks.example', acl: [`${PBX}/32`], requireTls: true,
      credentials: [{ username: 'acme-pbx', password: 'correct horse battery' }],
      dids: ['+14155550100'],
      origination: { uris: overrides.origination ?? ['sips:pbx.acme.example', 'sip:192.0.2.10:5071;transport=tls'], ...(overrides.originationTls === undefined ? {} : { tls: overrides.originationTls }) },
      numberPlan: NANP, routing: [{ prefix: '', carriers: ['secure'] }], callerId: { allowed: [''] },
    }],
  };
}

const policy = new TrunkPolicy(TrunkingConfigSchema.parse(config()), new DigestAuthenticator({ secret: SECRET }));

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

  it('per-peer TLS settings: a carrier\'s go with its TLS addresses only, the trunk\'s origination settings with its TLS URIs', () => {
    const tlsPolicy = new TrunkPolicy(TrunkingConfigSchema.parse(config({ carrierTls: CARRIER_TLS, originationTls: PBX_TLS })), new DigestAuthenticator({ secret: SECRET }));
    const termination = asTermination(tlsPolicy.plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example' }), { address: PBX, protocol: 'tls' }));
    assert.deepEqual(termination.targets.map((t) => [t.transport, t.tls]), [['tls', CARRIER_TLS], ['udp', undefined]]);
    const origination = asOrigination(tlsPolicy.plan(invite({ ruri: 'sip:+14155550100@203.0.113.1' }), { address: CARRIER, protocol: 'udp' }));
    assert.deepEqual(origination.targets.map((t) => t.tls), [PBX_TLS, PBX_TLS]);
    assert.equal(asTermination(policy.plan(invite({ ruri: 'sip:+12025550123@acme.trunks.example' }), { address: PBX, protocol: 'tls' })).targets[0]?.tls, undefined, 'none: the transport\'s defaults');
  });

  it('per-peer TLS settings are checked at load, naming the field', () => {
    const issues = (c: unknown) => {
      const r = TrunkingConfigSchema.safeParse(c);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.deepEqual(issues(config({ carrierTls: { certFile: '/etc/x.crt' } })), ['carriers.0.tls.keyFile: expected certFile and keyFile together']);
    assert.deepEqual(issues(config({ carrierTls: { caFile: 'ca.pem' } })), ['carriers.0.tls.caFile: expected an absolute path to a PEM file on the transport nodes']);
    assert.deepEqual(issues(config({ carrierTls: { serverName: 'not a name' } })), ['carriers.0.tls.serverName: expected a domain name']);
    const plain = config({ carrierTls: CARRIER_TLS });
    plain.carriers[0]!.addresses = [{ host: '198.51.100.11', transport: 'udp' }];
    assert.deepEqual(issues(plain), ['carriers.0.tls: TLS settings, but no address with transport tls']);
    const noTlsUris = config({ originationTls: PBX_TLS, origination: ['sip:192.0.2.10'] });
    noTlsUris.trunks[0]!.requireTls = false;
    assert.deepEqual(issues(noTlsUris), ['trunks.0.origination.tls: TLS settings, but no sips: or ;transport=tls URI']);
  });
});
