// Unit tests of the trunking configuration schema (errors name the field) and of the CIDR helpers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, validateConfig } from '@switchboard/config';
import { cidrContains, ipBytes, parseCidr, TrunkingConfigSchema } from './trunk-config.js';

/** A configuration using most fields; three trunks so paths like trunks[2] exist. */
function valid() {
  return {
    carriers: [
      {
        id: 'carrier-a',
        addresses: [{ host: '198.51.100.10' }, { host: '198.51.100.11', port: 5080, transport: 'tcp' }],
      },
      {
        id: 'carrier-b',
        addresses: [{ host: 'sip.carrier-b.example' }],
        sources: ['203.0.113.0/24', '2001:db8:b::/48'],
        failoverOn: [503, '6xx'],
        maxCps: 50,
        offer: 'delayed',
        numberFormat: 'e164-digits',
        numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
      },
    ],
    trunks: [
      {
        id: 'acme',
        domain: 'acme.trunks.example',
        acl: ['192.0.2.0/24', '192.0.2.200'],
        dids: ['+14155550100', '+14155550101'],
        origination: { uris: ['sip:pbx.acme.example;transport=tcp', 'sip:192.0.2.10:5070'] },
        numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
        routing: [{ prefix: '', carriers: ['carrier-a', 'carrier-b'] }, { prefix: '+44', carriers: ['carrier-b'] }],
        restrictions: { blocked: [{ prefix: '1900', name: 'premium-rate' }, { prefix: '1976' }], maxConcurrent: 10, maxCps: 2 },
        callerId: { allowed: ['1415555'] },
      },
      {
        id: 'globex',
        domain: 'globex.trunks.example',
        credentials: [{ username: 'globex-pbx', password: 'correct horse battery' }],
        dids: ['+442079460000'],
        origination: { uris: ['sip:pbx.globex.example;transport=tcp'], failoverOn: [503] },
        numberPlan: { countryCode: '44', nationalPrefix: '0' },
        routing: [{ prefix: '44', carriers: ['carrier-b'] }],
        restrictions: { allowedPrefixes: ['44'] },
        callerId: { onViolation: 'replace', default: '+442079460000' },
      },
      {
        id: 'initech',
        domain: 'initech.trunks.example',
        acl: ['2001:db8:1::/64'],
        numberPlan: { countryCode: '1' },
        routing: [{ prefix: '1', carriers: ['carrier-a'] }],
      },
    ],
  };
}

/** The ConfigError validating `valid()` changed by `change` throws; fails the test when nothing throws. */
// `any`: a test edits raw, untyped YAML-like data
function errorOf(change: (raw: any) => void): ConfigError {
  const raw = valid();
  change(raw);
  try {
    validateConfig(TrunkingConfigSchema, raw, 'trunks.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.file, 'trunks.yaml');
    return err;
  }
  assert.fail('the configuration was accepted');
}

describe('TrunkingConfigSchema', () => {
  describe('a valid configuration', () => {
    const config = validateConfig(TrunkingConfigSchema, valid(), 'trunks.yaml');

    it('keeps what was written', () => {
      assert.equal(config.carriers.length, 2);
      assert.deepEqual(config.trunks.map((t) => t.id), ['acme', 'globex', 'initech']);
      const b = config.carriers[1];
      assert.deepEqual(b?.failoverOn, [503, '6xx']);
      assert.equal(b?.offer, 'delayed');
      assert.equal(b?.numberFormat, 'e164-digits');
      assert.equal(b?.maxCps, 50);
      assert.deepEqual(b?.sources, ['203.0.113.0/24', '2001:db8:b::/48']);
      assert.deepEqual(config.trunks[0]?.restrictions.maxConcurrent, 10);
      assert.deepEqual(config.trunks[0]?.restrictions.maxCps, 2);
      assert.equal(config.trunks[0]?.restrictions.maxCallSeconds, 4 * 3_600, 'a call lasts 4 h at most unless the trunk says otherwise');
    });

    it('fills carrier defaults: port 5060, udp, failover on 408 and 5xx, early offer, e164', () => {
      const a = config.carriers[0];
      assert.deepEqual(a?.addresses, [
        { host: '198.51.100.10', port: 5060, transport: 'udp' },
        { host: '198.51.100.11', port: 5080, transport: 'tcp' },
      ]);
      assert.deepEqual(a?.failoverOn, [408, '5xx']);
      assert.equal(a?.offer, 'early');
      assert.equal(a?.numberFormat, 'e164');
      assert.equal(a?.numberPlan, undefined);
      assert.equal(a?.sources, undefined);
      assert.equal(a?.maxCps, undefined);
    });

    it('TLS: a carrier address over TLS defaults to port 5061; a trunk requiring TLS takes sips: and ;transport=tls URIs', () => {
      const raw = valid();
      Object.assign(raw.carriers[0]!, { addresses: [{ host: 'sip.carrier-a.example', transport: 'tls' }, { host: '198.51.100.10', port: 5071, transport: 'tls' }] });
      Object.assign(raw.trunks[0]!, { requireTls: true, origination: { uris: ['sips:pbx.acme.example', 'sip:192.0.2.10:5071;transport=TLS'] } });
      const tls = validateConfig(TrunkingConfigSchema, raw, 'trunks.yaml');
      assert.deepEqual(tls.carriers[0]?.addresses, [
        { host: 'sip.carrier-a.example', port: 5061, transport: 'tls' },
        { host: '198.51.100.10', port: 5071, transport: 'tls' },
      ]);
      assert.equal(tls.trunks[0]?.requireTls, true);
      assert.equal(config.trunks[0]?.requireTls, false, 'not unless asked');
    });

    it('fills trunk defaults', () => {
      const acme = config.trunks[0];
      assert.deepEqual(acme?.credentials, []);
      assert.deepEqual(acme?.origination?.failoverOn, [408, '5xx']);
      assert.deepEqual(acme?.restrictions.allowedPrefixes, []);
      assert.deepEqual(acme?.restrictions.blocked, [{ prefix: '1900', name: 'premium-rate' }, { prefix: '1976', name: 'blocked' }]);
      assert.deepEqual(acme?.callerId, { allowed: ['1415555'], onViolation: 'reject' });

      const globex = config.trunks[1];
      assert.deepEqual(globex?.acl, []);
      assert.deepEqual(globex?.numberPlan, { countryCode: '44', nationalPrefix: '0', internationalPrefix: '00' });
      assert.deepEqual(globex?.origination, { uris: ['sip:pbx.globex.example;transport=tcp'], failoverOn: [503] });
      assert.deepEqual(globex?.callerId, { allowed: [], onViolation: 'replace', default: '+442079460000' });

      const initech = config.trunks[2];
      assert.deepEqual(initech?.dids, []);
      assert.equal(initech?.origination, undefined);
      assert.deepEqual(initech?.numberPlan, { countryCode: '1', nationalPrefix: '', internationalPrefix: '00' });
      assert.deepEqual(initech?.restrictions, { allowedPrefixes: [], blocked: [], maxCallSeconds: 4 * 3_600 });
      assert.deepEqual(initech?.callerId, { allowed: [], onViolation: 'reject' });
    });

    it('an empty file is an empty configuration', () => {
      assert.deepEqual(validateConfig(TrunkingConfigSchema, {}, 'trunks.yaml'), { carriers: [], trunks: [], sipTransfers: { maxConcurrent: 200, overrides: [] } });
    });
  });

  describe('errors name the field', () => {
    it('a prefix that is not digits', () => {
      const err = errorOf((c) => { c.trunks[2]!.routing[0]!.prefix = '1-800'; });
      assert.equal(err.field, 'trunks[2].routing[0].prefix');
      assert.equal(err.problem, 'expected digits');
      assert.equal(err.message, 'trunks.yaml: trunks[2].routing[0].prefix: expected digits');
    });

    it('a + that is not at the start of a prefix', () => {
      const err = errorOf((c) => { c.trunks[0]!.restrictions.blocked[0]!.prefix = '1+900'; });
      assert.equal(err.field, 'trunks[0].restrictions.blocked[0].prefix');
      assert.equal(err.problem, 'expected digits');
    });

    it('a maximum call duration that is negative, fractional or over a week', () => {
      for (const bad of [-1, 1.5, 7 * 86_400 + 1]) {
        const err = errorOf((c) => { c.trunks[0]!.restrictions.maxCallSeconds = bad; });
        assert.equal(err.field, 'trunks[0].restrictions.maxCallSeconds');
      }
    });

    it('an allowed caller-ID prefix that is not digits', () => {
      const err = errorOf((c) => { c.trunks[0]!.callerId.allowed = ['1415', 'x']; });
      assert.equal(err.field, 'trunks[0].callerId.allowed[1]');
      assert.equal(err.problem, 'expected digits');
    });

    it('a routing rule naming a carrier that does not exist', () => {
      const err = errorOf((c) => { c.trunks[0]!.routing[1]!.carriers = ['carrier-b', 'carrier-z']; });
      assert.equal(err.field, 'trunks[0].routing[1].carriers[1]');
      assert.equal(err.problem, 'no carrier "carrier-z"');
    });

    it('a routing rule without carriers', () => {
      const err = errorOf((c) => { c.trunks[1]!.routing[0]!.carriers = []; });
      assert.equal(err.field, 'trunks[1].routing[0].carriers');
      assert.equal(err.problem, 'expected at least one carrier');
    });

    it('a DID that belongs to another trunk', () => {
      const err = errorOf((c) => { c.trunks[1]!.dids.push('+14155550101'); });
      assert.equal(err.field, 'trunks[1].dids[1]');
      assert.equal(err.problem, '+14155550101 already belongs to trunk "acme"');
    });

    it('a domain that is another trunk’s, in any case', () => {
      const err = errorOf((c) => { c.trunks[2]!.domain = 'ACME.Trunks.Example'; });
      assert.equal(err.field, 'trunks[2].domain');
      assert.equal(err.problem, 'already the domain of trunk "acme"');
    });

    it('a domain that is not a domain name', () => {
      const err = errorOf((c) => { c.trunks[2]!.domain = 'initech trunks'; });
      assert.equal(err.field, 'trunks[2].domain');
      assert.equal(err.problem, 'expected a domain name');
    });

    it('a trunk with neither an ACL nor credentials', () => {
      const err = errorOf((c) => { c.trunks[2]!.acl = []; });
      assert.equal(err.field, 'trunks[2].acl');
      assert.match(err.problem, /expected an ACL entry or credentials/);
    });

    it('a trunk whose ACL and credentials are both left out', () => {
      const err = errorOf((c) => { delete (c.trunks[2] as Record<string, unknown>).acl; });
      assert.equal(err.field, 'trunks[2].acl');
    });

    for (const bad of ['192.0.2.0/33', '192.0.2.300', '192.0.2.0/', 'not-an-address', '2001:db8::/129', '192.0.2.0/-1', '10.0.0.0/8/16', '']) {
      it(`an ACL entry that is not an address or CIDR block: "${bad}"`, () => {
        const err = errorOf((c) => { c.trunks[0]!.acl[1] = bad; });
        assert.equal(err.field, 'trunks[0].acl[1]');
        assert.equal(err.problem, 'expected an IP address or CIDR block (e.g. 203.0.113.0/24)');
      });
    }

    it('a carrier source that is not a CIDR block', () => {
      const err = errorOf((c) => { c.carriers[1]!.sources![0] = '203.0.113.0/24x'; });
      assert.equal(err.field, 'carriers[1].sources[0]');
    });

    for (const bad of ['4155550100', '+04155550100', '+123456', '+1234567890123456', '+1 415 555 0100']) {
      it(`a DID that is not E.164: "${bad}"`, () => {
        const err = errorOf((c) => { c.trunks[0]!.dids[1] = bad; });
        assert.equal(err.field, 'trunks[0].dids[1]');
        assert.equal(err.problem, 'expected an E.164 number (+ then 7 to 15 digits)');
      });
    }

    it('a caller-ID default that is not E.164', () => {
      const err = errorOf((c) => { c.trunks[1]!.callerId.default = '02079460000'; });
      assert.equal(err.field, 'trunks[1].callerId.default');
    });

    it('caller-ID replace without a default', () => {
      const err = errorOf((c) => { delete (c.trunks[1]!.callerId as Record<string, unknown>).default; });
      assert.equal(err.field, 'trunks[1].callerId.default');
      assert.equal(err.problem, 'expected a number to present instead (onViolation is replace)');
    });

    it('a trunk with DIDs but no origination', () => {
      const err = errorOf((c) => { delete (c.trunks[0] as Record<string, unknown>).origination; });
      assert.equal(err.field, 'trunks[0].origination');
      assert.equal(err.problem, 'expected origination URIs: the trunk has DIDs');
    });

    it('origination without URIs', () => {
      const err = errorOf((c) => { c.trunks[0]!.origination!.uris = []; });
      assert.equal(err.field, 'trunks[0].origination.uris');
      assert.equal(err.problem, 'expected at least one URI');
    });

    it('an origination URI that is not a SIP URI', () => {
      const err = errorOf((c) => { c.trunks[0]!.origination!.uris[1] = 'tel:+14155550100'; });
      assert.equal(err.field, 'trunks[0].origination.uris[1]');
      assert.equal(err.problem, 'expected a sip: or sips: URI');
    });

    it('a transfer mode that does not exist, and a SIP-transfer override without addresses', () => {
      const mode = errorOf((c) => { c.trunks[0]!.transfer = { mode: 'everything' }; });
      assert.equal(mode.field, 'trunks[0].transfer.mode');
      const override = errorOf((c) => { c.sipTransfers = { overrides: [{ domain: 'partner.example', addresses: [] }] }; });
      assert.equal(override.field, 'sipTransfers.overrides[0].addresses');
      assert.equal(override.problem, 'expected at least one address');
    });

    it('a trunk that requires TLS with an origination URI that is not TLS', () => {
      const err = errorOf((c) => {
        Object.assign(c.trunks[0]!, { requireTls: true });
        c.trunks[0]!.origination!.uris = ['sips:pbx.acme.example', 'sip:pbx.acme.example:5061;transport=tls', 'sip:pbx.acme.example;transport=tcp'];
      });
      assert.equal(err.field, 'trunks[0].origination.uris[2]');
      assert.equal(err.problem, 'expected a sips: URI or ;transport=tls: the trunk requires TLS');
    });

    it('a trunk ACL that overlaps a carrier\'s sources', () => {
      const err = errorOf((c) => { c.trunks[0]!.acl = [c.carriers[0]!.addresses[0]!.host.replace(/\.\d+$/, '.0/24')]; });
      assert.equal(err.field, 'trunks[0].acl[0]');
      assert.match(err.problem, /overlaps the sources of carrier/);
    });

    it('a duplicate carrier id', () => {
      const err = errorOf((c) => { c.carriers[1]!.id = 'carrier-a'; });
      assert.equal(err.field, 'carriers[1].id');
      assert.equal(err.problem, 'duplicate carrier id "carrier-a"');
    });

    it('a duplicate trunk id', () => {
      const err = errorOf((c) => { c.trunks[2]!.id = 'globex'; });
      assert.equal(err.field, 'trunks[2].id');
      assert.equal(err.problem, 'duplicate trunk id "globex"');
    });

    it('a username that is another trunk’s', () => {
      const err = errorOf((c) => { (c.trunks[2] as Record<string, unknown>).credentials = [{ username: 'globex-pbx', password: 'another secret' }]; });
      assert.equal(err.field, 'trunks[2].credentials[0].username');
      assert.equal(err.problem, 'already a username of trunk "globex"');
    });

    it('a password shorter than 8 characters', () => {
      const err = errorOf((c) => { c.trunks[1]!.credentials[0]!.password = 'short'; });
      assert.equal(err.field, 'trunks[1].credentials[0].password');
      assert.equal(err.problem, 'expected at least 8 characters');
    });

    it('a carrier without addresses', () => {
      const err = errorOf((c) => { c.carriers[0]!.addresses = []; });
      assert.equal(err.field, 'carriers[0].addresses');
      assert.equal(err.problem, 'expected at least one address');
    });

    it('a carrier address that is neither an IP address nor a host name', () => {
      const err = errorOf((c) => { c.carriers[0]!.addresses[0]!.host = 'carrier a'; });
      assert.equal(err.field, 'carriers[0].addresses[0].host');
      assert.equal(err.problem, 'expected an IP address or a host name');
    });

    it('a carrier port out of range', () => {
      const err = errorOf((c) => { c.carriers[0]!.addresses[1]!.port = 70000; });
      assert.equal(err.field, 'carriers[0].addresses[1].port');
    });

    it('a failover status that is not a final failure', () => {
      const err = errorOf((c) => { c.carriers[1]!.failoverOn = [503, 200]; });
      assert.equal(err.field, 'carriers[1].failoverOn[1]');
    });

    it('a failover class that is not a failure class', () => {
      const err = errorOf((c) => { (c.carriers[1] as Record<string, unknown>).failoverOn = ['2xx']; });
      assert.equal(err.field, 'carriers[1].failoverOn[0]');
    });

    it('a trunk id with characters an operator cannot type in a subject', () => {
      const err = errorOf((c) => { c.trunks[0]!.id = 'acme.corp'; });
      assert.equal(err.field, 'trunks[0].id');
    });

    it('a trunk without a number plan', () => {
      const err = errorOf((c) => { delete (c.trunks[2] as Record<string, unknown>).numberPlan; });
      assert.equal(err.field, 'trunks[2].numberPlan');
    });

    it('a country code that is not 1 to 3 digits', () => {
      const err = errorOf((c) => { c.trunks[1]!.numberPlan.countryCode = '044'; });
      assert.equal(err.field, 'trunks[1].numberPlan.countryCode');
      assert.equal(err.problem, 'expected a country calling code (1 to 3 digits)');
    });
  });
});

describe('CIDR helpers', () => {
  const contains = (cidr: string, address: string): boolean => {
    const block = parseCidr(cidr);
    const bytes = ipBytes(address);
    assert.ok(block !== undefined, `parseCidr(${cidr})`);
    assert.ok(bytes !== undefined, `ipBytes(${address})`);
    return cidrContains(block, bytes);
  };

  it('parses an IPv4 block', () => {
    assert.deepEqual(parseCidr('192.0.2.0/24'), { bytes: Uint8Array.from([192, 0, 2, 0]), bits: 24 });
  });

  it('reads a bare address as a /32 or /128', () => {
    assert.equal(parseCidr('192.0.2.7')?.bits, 32);
    assert.equal(parseCidr('2001:db8::7')?.bits, 128);
  });

  it('refuses what is not an address or block', () => {
    for (const bad of ['192.0.2.0/33', '192.0.2.256', '192.0.2.0/', '192.0.2.0/x', '2001:db8::/129', 'example.com', '', '/24', '192.0.2.0/24/8', '10.0.0.0/8/16']) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
  });

  it('an IPv4 /24 contains its 256 addresses only', () => {
    assert.equal(contains('192.0.2.0/24', '192.0.2.0'), true);
    assert.equal(contains('192.0.2.0/24', '192.0.2.255'), true);
    assert.equal(contains('192.0.2.0/24', '192.0.3.0'), false);
    assert.equal(contains('192.0.2.0/24', '192.0.1.255'), false);
  });

  it('an IPv4 /32 contains one address', () => {
    assert.equal(contains('192.0.2.7/32', '192.0.2.7'), true);
    assert.equal(contains('192.0.2.7/32', '192.0.2.6'), false);
    assert.equal(contains('192.0.2.7', '192.0.2.8'), false);
  });

  it('an IPv4 /0 contains every IPv4 address and no IPv6 one', () => {
    assert.equal(contains('0.0.0.0/0', '203.0.113.9'), true);
    assert.equal(contains('0.0.0.0/0', '255.255.255.255'), true);
    assert.equal(contains('0.0.0.0/0', '2001:db8::1'), false);
  });

  it('a block not on an octet boundary', () => {
    assert.equal(contains('10.16.0.0/20', '10.16.15.255'), true);
    assert.equal(contains('10.16.0.0/20', '10.16.16.0'), false);
    assert.equal(contains('198.18.0.0/15', '198.19.255.255'), true);
    assert.equal(contains('198.18.0.0/15', '198.20.0.0'), false);
  });

  it('ignores host bits set in the block', () => {
    assert.equal(contains('192.0.2.77/24', '192.0.2.1'), true);
  });

  it('an IPv6 /64 contains its addresses only', () => {
    assert.equal(contains('2001:db8:1:2::/64', '2001:db8:1:2::1'), true);
    assert.equal(contains('2001:db8:1:2::/64', '2001:db8:1:2:ffff:ffff:ffff:ffff'), true);
    assert.equal(contains('2001:db8:1:2::/64', '2001:db8:1:3::1'), false);
    assert.equal(contains('2001:db8:1:2::/64', '2001:0db8:0001:0002:0000:0000:0000:0009'), true);
  });

  it('an IPv6 block contains no IPv4 address', () => {
    assert.equal(contains('::/0', '192.0.2.1'), false);
  });

  it('reads IPv6 in every written form to the same bytes', () => {
    assert.deepEqual(ipBytes('2001:db8::1'), ipBytes('2001:0db8:0000:0000:0000:0000:0000:0001'));
    assert.deepEqual(ipBytes('::1'), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
    assert.deepEqual(ipBytes('::'), new Uint8Array(16));
    assert.deepEqual(ipBytes('fe80::'), Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  });

  it('reads an IPv6 address ending in a dotted quad (RFC 4291 §2.2)', () => {
    assert.deepEqual(ipBytes('64:ff9b::192.0.2.1'), ipBytes('64:ff9b::c000:201'));
    assert.equal(contains('64:ff9b::/96', '64:ff9b::192.0.2.1'), true);
    assert.equal(contains('64:ff9b::c000:200/120', '64:ff9b::192.0.2.99'), true);
    assert.equal(contains('64:ff9b::c000:200/120', '64:ff9b::192.0.3.1'), false);
  });

  it('an IPv4-mapped IPv6 address is its IPv4 address', () => {
    assert.deepEqual(ipBytes('::ffff:192.0.2.7'), Uint8Array.from([192, 0, 2, 7]));
    assert.deepEqual(ipBytes('::FFFF:192.0.2.7'), Uint8Array.from([192, 0, 2, 7]));
    assert.equal(contains('192.0.2.0/24', '::ffff:192.0.2.7'), true);
    assert.equal(contains('192.0.2.7/32', '::ffff:192.0.2.7'), true);
    assert.equal(contains('192.0.2.0/24', '::ffff:192.0.3.7'), false);
  });

  it('refuses what is not an address', () => {
    assert.equal(ipBytes('example.com'), undefined);
    assert.equal(ipBytes('192.0.2.0/24'), undefined);
    assert.equal(ipBytes(''), undefined);
  });
});
