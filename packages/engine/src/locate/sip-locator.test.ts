// RFC 3263 §4 server location against a fake resolver that records every query it is asked.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { parseUri, SipUri } from '@switchboard/sip';
import { VirtualTime } from '../testing/virtual-time.js';
import { SipLocator, type DnsResolver, type SipHop, type SipLocatorOptions } from './sip-locator.js';

type Naptr = Awaited<ReturnType<DnsResolver['resolveNaptr']>>[number];
type Srv = Awaited<ReturnType<DnsResolver['resolveSrv']>>[number];

interface Zone {
  naptr?: Record<string, Naptr[]>;
  srv?: Record<string, Srv[]>;
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
}

/** Answers from `zone`; a name it lacks fails as node's resolver does (ENOTFOUND). Logs `TYPE name`. */
function fakeResolver(zone: Zone): DnsResolver & { calls: string[] } {
  const calls: string[] = [];
  const answer = <T>(type: string, table: Record<string, T[]> | undefined, name: string): Promise<T[]> => {
    calls.push(`${type} ${name}`);
    const records = table?.[name];
    if (records === undefined) return Promise.reject(Object.assign(new Error(`query${type} ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
    return Promise.resolve(records);
  };
  return {
    calls,
    resolveNaptr: (host) => answer('NAPTR', zone.naptr, host),
    resolveSrv: (name) => answer('SRV', zone.srv, name),
    resolve4: (host) => answer('A', zone.a, host),
    resolve6: (host) => answer('AAAA', zone.aaaa, host),
  };
}

function sipUri(text: string): SipUri {
  const uri = parseUri(text);
  assert.ok(uri instanceof SipUri, text);
  return uri;
}

const naptr = (service: string, order: number, preference: number, replacement: string): Naptr =>
  ({ flags: 's', service, regexp: '', replacement, order, preference });
const srv = (name: string, port: number, priority: number, weight: number): Srv => ({ name, port, priority, weight });
const udp = (address: string, port = 5060): SipHop => ({ transport: 'udp', address, port });
const tcp = (address: string, port = 5060): SipHop => ({ transport: 'tcp', address, port });

function locator(zone: Zone, options: SipLocatorOptions = {}) {
  const resolver = fakeResolver(zone);
  return { resolver, locator: new SipLocator({ resolver, ...options }) };
}

describe('SipLocator', () => {
  describe('overrides', () => {
    it('match the domain case-insensitively, ignoring a trailing dot, and ask no DNS', async () => {
      const { resolver, locator: l } = locator({}, {
        overrides: [
          { domain: 'Partner.Example.', addresses: [{ host: '198.51.100.7', port: 5070, transport: 'tcp' }, { host: '198.51.100.8', port: 5060, transport: 'udp' }] },
          { domain: 'other.example', addresses: [{ host: '[2001:db8::9]', port: 5080, transport: 'udp' }] },
        ],
      });
      assert.deepEqual(await l.locate(sipUri('sip:bob@partner.example')), [tcp('198.51.100.7', 5070), udp('198.51.100.8')]);
      assert.deepEqual(await l.locate(sipUri('sip:bob@PARTNER.example.:5999;transport=udp')), [tcp('198.51.100.7', 5070), udp('198.51.100.8')]);
      assert.deepEqual(await l.locate(sipUri('sip:bob@Other.Example.')), [udp('2001:db8::9', 5080)]);
      assert.deepEqual(resolver.calls, []);
    });

    it('resolve a host name in an override with A then AAAA', async () => {
      const { resolver, locator: l } = locator(
        { a: { 'sbc.partner.example': ['198.51.100.20'] }, aaaa: { 'sbc.partner.example': ['2001:db8::20'] } },
        { overrides: [{ domain: 'partner.example', addresses: [{ host: 'sbc.partner.example', port: 5062, transport: 'tcp' }] }] },
      );
      assert.deepEqual(await l.locate(sipUri('sip:bob@partner.example')), [tcp('198.51.100.20', 5062), tcp('2001:db8::20', 5062)]);
      assert.deepEqual(resolver.calls, ['A sbc.partner.example', 'AAAA sbc.partner.example']);
    });
  });

  describe('numeric targets', () => {
    it('an IPv4 host is used as it is: URI port or 5060, transport param or UDP', async () => {
      const { resolver, locator: l } = locator({});
      assert.deepEqual(await l.locate(sipUri('sip:bob@192.0.2.10')), [udp('192.0.2.10')]);
      assert.deepEqual(await l.locate(sipUri('sip:bob@192.0.2.10:5080;transport=TCP')), [tcp('192.0.2.10', 5080)]);
      assert.deepEqual(resolver.calls, []);
    });

    it('an IPv6 reference loses its brackets', async () => {
      const { resolver, locator: l } = locator({});
      assert.deepEqual(await l.locate(sipUri('sip:bob@[2001:db8::1]:5062')), [udp('2001:db8::1', 5062)]);
      assert.deepEqual(await l.locate(sipUri('sip:[2001:db8::2];transport=tcp')), [tcp('2001:db8::2')]);
      assert.deepEqual(resolver.calls, []);
    });
  });

  describe('sips: and TLS (RFC 3263 with _sips._tcp, no downgrade)', () => {
    const tls = (address: string, port = 5061): SipHop => ({ transport: 'tls', address, port });

    it('a sips: URI: NAPTR SIPS+D2T first, then SRV _sips._tcp, then A/AAAA on 5061', async () => {
      const viaNaptr = locator({
        naptr: { 'partner.example': [naptr('SIP+D2U', 1, 1, '_sip._udp.partner.example'), naptr('SIPS+D2T', 2, 1, '_sips._tcp.partner.example')] },
        srv: { '_sips._tcp.partner.example': [srv('tls.partner.example', 5071, 0, 0)], '_sip._udp.partner.example': [srv('udp.partner.example', 5060, 0, 0)] },
        a: { 'tls.partner.example': ['198.51.100.61'], 'udp.partner.example': ['198.51.100.62'] },
      });
      assert.deepEqual(await viaNaptr.locator.locate(sipUri('sips:bob@partner.example')), [tls('198.51.100.61', 5071)], 'only the TLS service');
      const viaSrv = locator({ srv: { '_sips._tcp.partner.example': [srv('sbc.partner.example', 5061, 0, 0)] }, a: { 'sbc.partner.example': ['198.51.100.1'] } });
      assert.deepEqual(await viaSrv.locator.locate(sipUri('sips:bob@partner.example')), [tls('198.51.100.1')]);
      assert.deepEqual(viaSrv.resolver.calls, ['NAPTR partner.example', 'SRV _sips._tcp.partner.example', 'A sbc.partner.example', 'AAAA sbc.partner.example']);
      const bare = locator({ a: { 'partner.example': ['198.51.100.2'] } });
      assert.deepEqual(await bare.locator.locate(sipUri('sips:bob@partner.example')), [tls('198.51.100.2')]);
    });

    it('numeric targets and ;transport=tls: TLS on the URI port or 5061', async () => {
      const { resolver, locator: l } = locator({});
      assert.deepEqual(await l.locate(sipUri('sips:bob@198.51.100.1')), [tls('198.51.100.1')]);
      assert.deepEqual(await l.locate(sipUri('sips:bob@198.51.100.1:5070;transport=tcp')), [tls('198.51.100.1', 5070)], 'sips over TCP is TLS');
      assert.deepEqual(await l.locate(sipUri('sip:bob@198.51.100.1;transport=TLS')), [tls('198.51.100.1')]);
      assert.deepEqual(resolver.calls, []);
    });

    it('an override serves a sips: URI with its TLS addresses only; none, or TLS over UDP, locate to nothing', async () => {
      const { resolver, locator: l } = locator({}, {
        overrides: [
          { domain: 'mixed.example', addresses: [{ host: '198.51.100.8', port: 5060, transport: 'udp' }, { host: '198.51.100.9', port: 5061, transport: 'tls' }] },
          { domain: 'plain.example', addresses: [{ host: '198.51.100.10', port: 5060, transport: 'tcp' }] },
        ],
      });
      assert.deepEqual(await l.locate(sipUri('sips:bob@mixed.example')), [tls('198.51.100.9')]);
      assert.deepEqual(await l.locate(sipUri('sip:bob@mixed.example')), [udp('198.51.100.8'), tls('198.51.100.9')]);
      assert.deepEqual(await l.locate(sipUri('sips:bob@plain.example')), []);
      assert.deepEqual(await l.locate(sipUri('sips:bob@198.51.100.1;transport=udp')), []);
      assert.deepEqual(await l.locate(sipUri('sip:bob@198.51.100.1;transport=sctp')), []);
      assert.deepEqual(resolver.calls, []);
    });
  });

  it('maddr replaces the host as the target', async () => {
    const { resolver, locator: l } = locator({ a: { 'edge.partner.example': ['198.51.100.30'] } });
    assert.deepEqual(await l.locate(sipUri('sip:bob@partner.example:5070;maddr=192.0.2.44')), [udp('192.0.2.44', 5070)]);
    assert.deepEqual(resolver.calls, []);
    assert.deepEqual(await l.locate(sipUri('sip:bob@partner.example:5070;maddr=edge.partner.example;transport=tcp')), [tcp('198.51.100.30', 5070)]);
    assert.deepEqual(resolver.calls, ['A edge.partner.example', 'AAAA edge.partner.example']);
  });

  it('an explicit port means A/AAAA only: no NAPTR, no SRV', async () => {
    const { resolver, locator: l } = locator({
      naptr: { 'partner.example': [naptr('SIP+D2T', 10, 10, '_sip._tcp.partner.example')] },
      srv: { '_sip._udp.partner.example': [srv('sbc.partner.example', 5080, 0, 0)] },
      a: { 'partner.example': ['198.51.100.1', '198.51.100.2'] },
      aaaa: { 'partner.example': ['2001:db8::1'] },
    });
    assert.deepEqual(await l.locate(sipUri('sip:bob@partner.example:5070')),
      [udp('198.51.100.1', 5070), udp('198.51.100.2', 5070), udp('2001:db8::1', 5070)]);
    assert.deepEqual(await l.locate(sipUri('sip:bob@partner.example:5071;transport=tcp')),
      [tcp('198.51.100.1', 5071), tcp('198.51.100.2', 5071), tcp('2001:db8::1', 5071)]);
    assert.deepEqual(resolver.calls, ['A partner.example', 'AAAA partner.example', 'A partner.example', 'AAAA partner.example']);
  });

  describe('a transport param without a port', () => {
    it('asks the SRV of that transport only, then resolves its targets', async () => {
      const { resolver, locator: l } = locator({
        naptr: { 'partner.example': [naptr('SIP+D2U', 10, 10, '_sip._udp.partner.example')] },
        srv: {
          '_sip._udp.partner.example': [srv('udp.partner.example', 5060, 0, 0)],
          '_sip._tcp.partner.example': [srv('tcp.partner.example', 5090, 0, 0)],
        },
        a: { 'tcp.partner.example': ['198.51.100.40'] },
      });
      assert.deepEqual(await l.locate(sipUri('sip:bob@partner.example;transport=tcp')), [tcp('198.51.100.40', 5090)]);
      assert.deepEqual(resolver.calls, ['SRV _sip._tcp.partner.example', 'A tcp.partner.example', 'AAAA tcp.partner.example']);
    });

    it('falls back to A/AAAA of the host on 5060 with that transport when there is no SRV', async () => {
      const { resolver, locator: l } = locator({ a: { 'partner.example': ['198.51.100.41'] } });
      assert.deepEqual(await l.locate(sipUri('sip:bob@partner.example;transport=tcp')), [tcp('198.51.100.41')]);
      assert.deepEqual(resolver.calls, ['SRV _sip._tcp.partner.example', 'A partner.example', 'AAAA partner.example']);
    });
  });

  it('NAPTR: order then preference, SIPS+D2T (for a sip: URI) and unknown services ignored, replacements followed as SRV', async () => {
    const { resolver, locator: l } = locator({
      naptr: {
        'partner.example': [
          naptr('SIP+D2T', 20, 5, '_sip._tcp.late.partner.example'),
          naptr('SIPS+D2T', 1, 1, '_sips._tcp.partner.example'),
          naptr('SIP+D2T', 10, 20, '_sip._tcp.partner.example'),
          naptr('E2U+sip', 1, 1, 'enum.partner.example'),
          naptr('sip+d2u', 10, 10, '_sip._udp.partner.example'),
        ],
      },
      srv: {
        '_sips._tcp.partner.example': [srv('tls.partner.example', 5061, 0, 0)],
        '_sip._udp.partner.example': [srv('udp.partner.example', 5060, 0, 0)],
        '_sip._tcp.partner.example': [srv('tcp.partner.example', 5060, 0, 0)],
        '_sip._tcp.late.partner.example': [srv('late.partner.example', 5099, 0, 0)],
      },
      a: {
        'tls.partner.example': ['198.51.100.61'],
        'udp.partner.example': ['198.51.100.62'],
        'tcp.partner.example': ['198.51.100.63'],
        'late.partner.example': ['198.51.100.64'],
      },
    });
    assert.deepEqual(await l.locate(sipUri('sip:bob@partner.example')),
      [udp('198.51.100.62'), tcp('198.51.100.63'), tcp('198.51.100.64', 5099)]);
    assert.deepEqual(resolver.calls, [
      'NAPTR partner.example',
      'SRV _sip._udp.partner.example', 'SRV _sip._tcp.partner.example', 'SRV _sip._tcp.late.partner.example',
      'A udp.partner.example', 'AAAA udp.partner.example', 'A tcp.partner.example', 'AAAA tcp.partner.example',
      'A late.partner.example', 'AAAA late.partner.example',
    ]);
  });

  it('NAPTR records that lead nowhere fall through to SRV of each transport', async () => {
    const { locator: l } = locator({
      naptr: { 'partner.example': [naptr('SIP+D2U', 10, 10, '_sip._udp.gone.partner.example')] },
      srv: { '_sip._tcp.partner.example': [srv('tcp.partner.example', 5060, 0, 0)] },
      a: { 'tcp.partner.example': ['198.51.100.70'] },
    });
    assert.deepEqual(await l.locate(sipUri('sip:partner.example')), [tcp('198.51.100.70')]);
  });

  describe('SRV ordering (RFC 2782)', () => {
    const zone: Zone = {
      srv: {
        '_sip._udp.partner.example': [
          srv('p20.partner.example', 5060, 20, 0),
          srv('light.partner.example', 5060, 10, 10),
          srv('heavy.partner.example', 5060, 10, 60),
          srv('zero.partner.example', 5060, 10, 0),
          srv('mid.partner.example', 5060, 10, 30),
        ],
        '_sip._tcp.partner.example': [srv('tcp.partner.example', 5070, 0, 0)],
      },
      a: {
        'p20.partner.example': ['192.0.2.20'],
        'light.partner.example': ['192.0.2.1'],
        'heavy.partner.example': ['192.0.2.6'],
        'zero.partner.example': ['192.0.2.0'],
        'mid.partner.example': ['192.0.2.3'],
        'tcp.partner.example': ['192.0.2.99'],
      },
    };

    it('lower priority first; within a priority heaviest first; UDP records before TCP ones', async () => {
      const { locator: l } = locator(zone);
      assert.deepEqual(await l.locate(sipUri('sip:bob@partner.example')), [
        udp('192.0.2.6'), udp('192.0.2.3'), udp('192.0.2.1'), udp('192.0.2.0'), udp('192.0.2.20'), tcp('192.0.2.99', 5070),
      ]);
    });

    it('with an injected random, picks by running weight sum', async () => {
      // Priority 10, zero weight first: zero(0) light(10) heavy(60) mid(30), total 100.
      // 0.05 → pick 5, running sums 0, 10 → light; then zero heavy mid, total 90: 0.7 → pick 63,
      // running 0, 60, 90 → mid; then zero heavy, total 60: 0 → pick 0 → zero; then heavy.
      const draws = [0.05, 0.7, 0, 0.5, 0.5, 0.5];
      const { locator: l } = locator(zone, { random: () => draws.shift() ?? 0 });
      assert.deepEqual((await l.locate(sipUri('sip:bob@partner.example'))).map((h) => h.address),
        ['192.0.2.1', '192.0.2.3', '192.0.2.0', '192.0.2.6', '192.0.2.20', '192.0.2.99']);
    });

    it('a target of "." is not asked about, and stops the fallback to A', async () => {
      const { resolver, locator: l } = locator({
        srv: { '_sip._udp.partner.example': [srv('.', 0, 0, 0)], '_sip._tcp.partner.example': [srv('', 0, 0, 0)] },
        a: { 'partner.example': ['192.0.2.50'] },
      });
      assert.deepEqual(await l.locate(sipUri('sip:bob@partner.example')), []);
      assert.deepEqual(resolver.calls, ['NAPTR partner.example', 'SRV _sip._udp.partner.example', 'SRV _sip._tcp.partner.example']);
    });
  });

  it('no NAPTR and no SRV: A then AAAA of the host, UDP 5060', async () => {
    const { resolver, locator: l } = locator({ a: { 'partner.example': ['198.51.100.80'] }, aaaa: { 'partner.example': ['2001:db8::80'] } });
    assert.deepEqual(await l.locate(sipUri('sip:bob@partner.example')), [udp('198.51.100.80'), udp('2001:db8::80')]);
    assert.deepEqual(resolver.calls, [
      'NAPTR partner.example', 'SRV _sip._udp.partner.example', 'SRV _sip._tcp.partner.example', 'A partner.example', 'AAAA partner.example',
    ]);
  });

  it('nothing resolves → [], and a resolver that throws does not escape', async () => {
    const { locator: l } = locator({});
    assert.deepEqual(await l.locate(sipUri('sip:bob@nowhere.example')), []);
    const throwing: DnsResolver = {
      resolveNaptr: () => { throw new Error('boom'); },
      resolveSrv: () => Promise.reject(Object.assign(new Error('ENODATA'), { code: 'ENODATA' })),
      resolve4: () => { throw new Error('boom'); },
      resolve6: () => Promise.resolve(null as unknown as string[]),
    };
    assert.deepEqual(await new SipLocator({ resolver: throwing }).locate(sipUri('sip:bob@nowhere.example')), []);
  });

  describe('a resolver that never answers', () => {
    const silent = (calls: string[]): DnsResolver => ({
      resolveNaptr: (h) => { calls.push(`NAPTR ${h}`); return new Promise(() => {}); },
      resolveSrv: (n) => { calls.push(`SRV ${n}`); return new Promise(() => {}); },
      resolve4: (h) => { calls.push(`A ${h}`); return new Promise(() => {}); },
      resolve6: (h) => { calls.push(`AAAA ${h}`); return new Promise(() => {}); },
    });

    // virtual time: a wall-clock bound fails whenever a busy machine stalls the test
    /** Locates `uri` on virtual time; the answer and how long it took. */
    async function locateSilently(t: TestContext, l: SipLocator, uri: SipUri, limitMs: number) {
      const clock = new VirtualTime(t);
      let hops: SipHop[] | undefined;
      void l.locate(uri).then((h) => {
        hops = h;
      });
      await clock.until(() => hops !== undefined, 'an answer', limitMs);
      return { hops, took: clock.now };
    }

    it('gives [] after one timeoutMs when one round of queries is needed', async (t) => {
      const calls: string[] = [];
      const l = new SipLocator({ resolver: silent(calls), timeoutMs: 60 });
      const { hops, took } = await locateSilently(t, l, sipUri('sip:bob@partner.example:5070'), 60);
      assert.deepEqual(hops, []);
      assert.equal(took, 60);
      assert.deepEqual(calls, ['A partner.example', 'AAAA partner.example']);
    });

    it('gives [] after at most three timeouts on the full NAPTR → SRV → A path', async (t) => {
      const calls: string[] = [];
      const l = new SipLocator({ resolver: silent(calls), timeoutMs: 60 });
      const { hops } = await locateSilently(t, l, sipUri('sip:bob@partner.example'), 60 * 3);
      assert.deepEqual(hops, []);
      assert.deepEqual(calls, [
        'NAPTR partner.example', 'SRV _sip._udp.partner.example', 'SRV _sip._tcp.partner.example', 'A partner.example', 'AAAA partner.example',
      ]);
    });
  });

  describe('cache', () => {
    const zone: Zone = {
      srv: { '_sip._udp.partner.example': [srv('sbc.partner.example', 5080, 0, 0)] },
      a: { 'sbc.partner.example': ['198.51.100.90'], 'partner.example': ['198.51.100.91'] },
    };

    it('reuses a positive answer for cacheMs, then asks again', async () => {
      let now = 1_000_000;
      const { resolver, locator: l } = locator(zone, { cacheMs: 30_000, now: () => now });
      const uri = sipUri('sip:bob@partner.example');
      const first = await l.locate(uri);
      assert.deepEqual(first, [udp('198.51.100.90', 5080)]);
      const asked = resolver.calls.length;
      assert.ok(asked > 0);
      first[0]!.port = 1; // the caller's copy, not the cache's
      now += 29_999;
      assert.deepEqual(await l.locate(sipUri('sip:alice@Partner.Example.')), [udp('198.51.100.90', 5080)]);
      assert.equal(resolver.calls.length, asked, 'second locate asked DNS');
      now += 1;
      assert.deepEqual(await l.locate(uri), [udp('198.51.100.90', 5080)]);
      assert.equal(resolver.calls.length, asked * 2, 'expired entry was not asked again');
    });

    it('keys on transport and port, and does not keep empty answers', async () => {
      const { resolver, locator: l } = locator(zone);
      await l.locate(sipUri('sip:partner.example'));
      const before = resolver.calls.length;
      assert.deepEqual(await l.locate(sipUri('sip:partner.example:5060')), [udp('198.51.100.91')]);
      assert.ok(resolver.calls.length > before, 'an explicit port shared the no-port entry');
      const again = resolver.calls.length;
      assert.deepEqual(await l.locate(sipUri('sip:missing.example')), []);
      const afterMiss = resolver.calls.length;
      assert.ok(afterMiss > again);
      assert.deepEqual(await l.locate(sipUri('sip:missing.example')), []);
      assert.ok(resolver.calls.length > afterMiss, 'an empty answer was cached');
    });
  });
});
