// Unit tests of REFER target classification (RFC 3515, RFC 3891 Replaces): PSTN or SIP, or the refusal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Headers, parseUri, SipRequest, SipUri, TelUri } from '@switchboard/sip';
import { isLoopTarget, isReferRefusal, readReferTarget, type ReferTarget } from './refer-target.js';
import type { TrunkConfig } from './trunk-config.js';

const trunk: Pick<TrunkConfig, 'domain' | 'numberPlan'> = {
  domain: 'acme.trunks.example',
  numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
};

const refer = (...headers: [string, string][]): SipRequest =>
  new SipRequest({ method: 'REFER', uri: parseUri('sip:+14155550100@sbc.example'), headers: new Headers([['Call-ID', 'c1'], ...headers]) });

const read = (referTo: string) => readReferTarget(refer(['Refer-To', referTo]), trunk);

/** The target, failing the test when it is a refusal. */
function target(referTo: string): ReferTarget {
  const t = read(referTo);
  if (isReferRefusal(t)) assert.fail(`refused ${t.status} ${t.reason}`);
  return t;
}

function pstn(referTo: string) {
  const t = target(referTo);
  assert.equal(t.kind, 'pstn');
  return t as Extract<ReferTarget, { kind: 'pstn' }>;
}

function sip(referTo: string) {
  const t = target(referTo);
  assert.equal(t.kind, 'sip');
  return t as Extract<ReferTarget, { kind: 'sip' }>;
}

describe('readReferTarget', () => {
  describe('refusals', () => {
    it('400 Missing Refer-To without the header', () => {
      assert.deepEqual(readReferTarget(refer(), trunk), { kind: 'refused', status: 400, reason: 'Missing Refer-To' });
    });
    it('400 Multiple Refer-To for two header lines (long and compact form)', () => {
      const r = refer(['Refer-To', '<sip:+14155550101@acme.trunks.example>'], ['r', '<sip:bob@example.com>']);
      assert.deepEqual(readReferTarget(r, trunk), { kind: 'refused', status: 400, reason: 'Multiple Refer-To' });
    });
    it('400 Multiple Refer-To for a comma list on one line', () => {
      assert.deepEqual(read('<sip:+14155550101@acme.trunks.example>, <sip:bob@example.com>'), { kind: 'refused', status: 400, reason: 'Multiple Refer-To' });
    });
    it('reads a comma inside a quoted display name as part of one value', () => {
      assert.equal(sip('"Doe, John" <sip:john@example.com>').host, 'example.com');
    });
    it('400 Bad Refer-To for an unparseable value', () => {
      assert.deepEqual(read('<sip:bob@example.com'), { kind: 'refused', status: 400, reason: 'Bad Refer-To' });
      assert.deepEqual(read('not a uri'), { kind: 'refused', status: 400, reason: 'Bad Refer-To' });
      assert.deepEqual(read('"unterminated <sip:bob@example.com>'), { kind: 'refused', status: 400, reason: 'Bad Refer-To' });
      assert.deepEqual(read('  '), { kind: 'refused', status: 400, reason: 'Bad Refer-To' });
    });
    it('400 Bad Refer-To for URI headers outside angle brackets (RFC 3261 §20)', () => {
      assert.deepEqual(read('sip:bob@example.com?Replaces=abc'), { kind: 'refused', status: 400, reason: 'Bad Refer-To' });
    });
    it('400 Unsupported Refer-To URI for a scheme other than sip, sips and tel', () => {
      assert.deepEqual(read('<mailto:bob@example.com>'), { kind: 'refused', status: 400, reason: 'Unsupported Refer-To URI' });
      assert.deepEqual(read('<https://example.com/transfer>'), { kind: 'refused', status: 400, reason: 'Unsupported Refer-To URI' });
    });
    it('403 Unsupported Refer Method for a method other than INVITE', () => {
      assert.deepEqual(read('<sip:bob@example.com;method=BYE>'), { kind: 'refused', status: 403, reason: 'Unsupported Refer Method' });
      assert.deepEqual(read('<sip:+14155550101@acme.trunks.example;method=SUBSCRIBE>'), { kind: 'refused', status: 403, reason: 'Unsupported Refer Method' });
      assert.deepEqual(read('<sip:bob@example.com;method>'), { kind: 'refused', status: 403, reason: 'Unsupported Refer Method' });
    });
    it('400 Bad Replaces for an unparseable or repeated Replaces', () => {
      assert.deepEqual(read('<sip:bob@example.com?Replaces=abc%40host%3Bto-tag%3D1>'), { kind: 'refused', status: 400, reason: 'Bad Replaces' });
      assert.deepEqual(read('<sip:bob@example.com?Replaces=>'), { kind: 'refused', status: 400, reason: 'Bad Replaces' });
      assert.deepEqual(
        read('<sip:bob@example.com?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2&Replaces=b%3Bto-tag%3D1%3Bfrom-tag%3D2>'),
        { kind: 'refused', status: 400, reason: 'Bad Replaces' },
      );
    });
    it('404 Not Found for a name on the trunk’s domain', () => {
      assert.deepEqual(read('<sip:alice@acme.trunks.example>'), { kind: 'refused', status: 404, reason: 'Not Found' });
      assert.deepEqual(read('<sip:acme.trunks.example>'), { kind: 'refused', status: 404, reason: 'Not Found' });
      assert.deepEqual(read('<sip:*72@acme.trunks.example>'), { kind: 'refused', status: 404, reason: 'Not Found' });
    });
    it('484 Address Incomplete for digits too short to be a number', () => {
      assert.deepEqual(read('<sip:41555@acme.trunks.example>'), { kind: 'refused', status: 484, reason: 'Address Incomplete' });
      assert.deepEqual(read('<tel:+1415>'), { kind: 'refused', status: 484, reason: 'Address Incomplete' });
    });
    it('404 Not Found for digits too long to be a number', () => {
      assert.deepEqual(read('<sip:+1415555010012345@acme.trunks.example>'), { kind: 'refused', status: 404, reason: 'Not Found' });
    });
    it('404 Not Found for a local tel number in another country’s context', () => {
      assert.deepEqual(read('<tel:02079460000;phone-context=+44>'), { kind: 'refused', status: 404, reason: 'Not Found' });
    });
  });

  describe('Refer-To forms', () => {
    it('reads the compact form r', () => {
      const t = readReferTarget(refer(['r', '<sip:+14155550101@acme.trunks.example>']), trunk);
      assert.ok(!isReferRefusal(t) && t.kind === 'pstn');
      assert.equal(t.number, '+14155550101');
    });
    it('reads a name-addr with display name and header parameters', () => {
      const t = pstn('"Front Desk" <sip:+14155550101@acme.trunks.example>;x-note=1');
      assert.equal(t.number, '+14155550101');
      assert.equal(t.uri.toString(), 'sip:+14155550101@acme.trunks.example');
    });
    it('reads a bare URI', () => {
      const t = sip('sip:bob@example.com');
      assert.equal(t.uri.toString(), 'sip:bob@example.com');
      assert.equal(t.host, 'example.com');
    });
  });

  describe('same domain: a new PSTN call', () => {
    it('reads a global tel: number', () => {
      const t = pstn('<tel:+1-415-555-0101>');
      assert.ok(t.uri instanceof TelUri);
      assert.equal(t.dialled, '+1-415-555-0101');
      assert.equal(t.number, '+14155550101');
    });
    it('reads a local tel: number in the plan’s country or on the trunk’s domain', () => {
      assert.equal(pstn('<tel:4155550101;phone-context=+1-415>').number, '+14155550101');
      assert.equal(pstn('<tel:1-415-555-0101;phone-context=acme.trunks.example>').number, '+14155550101');
      assert.deepEqual(read('<tel:4155550101;phone-context=other.example>'), { kind: 'refused', status: 404, reason: 'Not Found' });
    });
    it('matches the domain in another case, with a trailing dot, with a port', () => {
      assert.equal(pstn('<sip:+14155550101@ACME.Trunks.Example>').number, '+14155550101');
      assert.equal(pstn('<sip:+14155550101@acme.trunks.example.>').number, '+14155550101');
      assert.equal(pstn('<sip:+14155550101@acme.trunks.example:5080>').number, '+14155550101');
    });
    it('normalises a national and an international number under the trunk’s plan', () => {
      const t = pstn('<sip:1-415-555-0101@acme.trunks.example>');
      assert.equal(t.dialled, '1-415-555-0101');
      assert.equal(t.number, '+14155550101');
      assert.equal(pstn('<sip:4155550101@acme.trunks.example>').number, '+14155550101');
      assert.equal(pstn('<sip:011442079460000@acme.trunks.example>').number, '+442079460000');
    });
    it('reads sip:+14155550100@acme.trunks.example;user=phone', () => {
      const t = pstn('<sip:+14155550100@acme.trunks.example;user=phone>');
      assert.equal(t.number, '+14155550100');
      assert.equal(t.uri.toString(), 'sip:+14155550100@acme.trunks.example;user=phone');
    });
    it('strips user parameters and percent-decodes the user', () => {
      assert.equal(pstn('<sip:+14155550101;isub=12@acme.trunks.example;user=phone>').number, '+14155550101');
      const t = pstn('<sip:%2B14155550101@acme.trunks.example>');
      assert.equal(t.dialled, '+14155550101');
      assert.equal(t.number, '+14155550101');
    });
  });

  describe('other domain: a SIP destination', () => {
    it('keeps user=phone on another domain as sip (that domain’s number)', () => {
      const t = sip('<sip:+14155550101@carrier.example;user=phone>');
      assert.equal(t.host, 'carrier.example');
      assert.equal(t.uri.toString(), 'sip:+14155550101@carrier.example;user=phone');
    });
    it('lower-cases the host and drops its trailing dot', () => {
      assert.equal(sip('<sip:bob@PBX.Example.COM.:5070>').host, 'pbx.example.com');
    });
    it('treats a subdomain of the trunk’s domain as another domain', () => {
      assert.equal(sip('<sip:+14155550101@pbx.acme.trunks.example>').host, 'pbx.acme.trunks.example');
    });
    it('accepts sips', () => {
      assert.equal(sip('<sips:bob@example.com>').uri.scheme, 'sips');
    });
  });

  describe('method and URI headers', () => {
    it('accepts method=INVITE in any case and drops it from the URI', () => {
      const t = sip('<sip:bob@example.com;transport=tcp;method=INVITE>');
      assert.equal(t.uri.toString(), 'sip:bob@example.com;transport=tcp');
      assert.equal(t.uri.param('method'), undefined);
      assert.equal(pstn('<sip:+14155550101@acme.trunks.example;method=invite>').uri.toString(), 'sip:+14155550101@acme.trunks.example');
    });
    it('decodes Replaces (RFC 3891 §6.1) and drops it from the URI', () => {
      const t = sip('<sip:bob@example.com?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>');
      assert.ok(t.replaces !== undefined);
      assert.equal(t.replaces.callId, 'abc@host');
      assert.equal(t.replaces.toTag, '1');
      assert.equal(t.replaces.fromTag, '2');
      assert.equal(t.replaces.earlyOnly, false);
      assert.equal(t.uri.toString(), 'sip:bob@example.com');
      assert.deepEqual(t.uri.headers, []);
    });
    it('reads early-only and a Replaces on a PSTN target', () => {
      const t = pstn('<sip:+14155550101@acme.trunks.example?Replaces=x%3Bfrom-tag%3Da%3Bto-tag%3Db%3Bearly-only>');
      assert.equal(t.replaces?.callId, 'x');
      assert.equal(t.replaces?.toTag, 'b');
      assert.equal(t.replaces?.fromTag, 'a');
      assert.equal(t.replaces?.earlyOnly, true);
    });
    it('drops URI headers other than Replaces', () => {
      const t = sip('<sip:bob@example.com?Subject=hello&Priority=urgent>');
      assert.equal(t.uri.toString(), 'sip:bob@example.com');
      assert.equal(t.replaces, undefined);
      assert.ok(!('replaces' in t));
      const u = sip('<sip:bob@example.com?Subject=hi&replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2>');
      assert.equal(u.uri.toString(), 'sip:bob@example.com');
      assert.equal(u.replaces?.callId, 'a');
    });
    it('returns the parsed URI itself when there is nothing to drop', () => {
      const t = sip('<sip:bob@example.com;transport=tcp>');
      assert.ok(t.uri instanceof SipUri);
      assert.equal(t.uri.toString(), 'sip:bob@example.com;transport=tcp');
    });
  });
});

describe('isReferRefusal', () => {
  it('tells refusals from targets', () => {
    assert.equal(isReferRefusal({ kind: 'refused', status: 400, reason: 'Bad Refer-To' }), true);
    assert.equal(isReferRefusal(target('<sip:bob@example.com>')), false);
  });
});

describe('isLoopTarget', () => {
  const context = (parties: string[] = []) => ({
    trunk: { origination: { uris: ['sip:pbx.acme.example', 'sip:+14155550100@203.0.113.10:5080'], failoverOn: [] } },
    parties,
  });

  it('is a loop when a sip target is an origination URI (case-insensitive host, default port 5060)', () => {
    assert.equal(isLoopTarget(target('<sip:PBX.Acme.Example:5060>'), context()), true);
    assert.equal(isLoopTarget(target('<sip:pbx.acme.example.;transport=tcp>'), context()), true);
    assert.equal(isLoopTarget(target('<sip:+14155550100@203.0.113.10:5080>'), context()), true);
  });
  it('is no loop on another port or user', () => {
    assert.equal(isLoopTarget(target('<sip:pbx.acme.example:5070>'), context()), false);
    assert.equal(isLoopTarget(target('<sip:alice@pbx.acme.example>'), context()), false);
    assert.equal(isLoopTarget(target('<sip:+14155550100@203.0.113.10>'), context()), false);
    assert.equal(isLoopTarget(target('<sips:pbx.acme.example>'), context()), false);
  });
  it('is no loop for a trunk without origination', () => {
    assert.equal(isLoopTarget(target('<sip:pbx.acme.example>'), { trunk: {}, parties: [] }), false);
  });
  it('is a loop when a pstn target is one of the parties, compared as E.164', () => {
    const t = target('<sip:1-415-555-0199@acme.trunks.example>');
    assert.equal(isLoopTarget(t, context(['+14155550199'])), true);
    assert.equal(isLoopTarget(t, context(['tel:+1-415-555-0199'])), true);
    assert.equal(isLoopTarget(t, context(['sip:+14155550199@carrier.example;user=phone'])), true);
    assert.equal(isLoopTarget(t, context(['+14155550198', 'sip:bob@example.com'])), false);
  });
  it('is a loop when a sip target’s URI is one of the parties', () => {
    const t = target('<sip:bob@example.com>');
    assert.equal(isLoopTarget(t, context(['sip:bob@example.com'])), true);
    assert.equal(isLoopTarget(t, context(['sip:bob@EXAMPLE.com:5060'])), true);
    assert.equal(isLoopTarget(t, context(['sip:carol@example.com', '+14155550100'])), false);
  });
});
