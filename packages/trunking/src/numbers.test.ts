// Unit tests of number handling: E.164 normalisation under a number plan, carrier numbers, URIs, prefixes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseUri } from '@switchboard/sip';
import { formatNumber, hasPrefix, isE164, normaliseCarrierNumber, normaliseNumber, numberOf, prefixLength } from './numbers.js';
import type { NumberPlan } from './trunk-config.js';

const NANP: NumberPlan = { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' };
const UK: NumberPlan = { countryCode: '44', nationalPrefix: '0', internationalPrefix: '00' };
// Italy keeps its leading 0 inside the national number: there is no trunk prefix to strip.
const ITALY: NumberPlan = { countryCode: '39', nationalPrefix: '', internationalPrefix: '00' };

describe('isE164', () => {
  it('takes + and 7 to 15 digits, the first not 0', () => {
    assert.equal(isE164('+1234567'), true);
    assert.equal(isE164('+123456789012345'), true);
    assert.equal(isE164('+123456'), false);
    assert.equal(isE164('+1234567890123456'), false);
    assert.equal(isE164('+0123456789'), false);
    assert.equal(isE164('14155550100'), false);
    assert.equal(isE164('+1415555010a'), false);
  });
});

describe('normaliseNumber under NANP (country 1, national 1, international 011)', () => {
  it('reads a ten-digit national number', () => {
    assert.equal(normaliseNumber('4155550100', NANP), '+14155550100');
  });
  it('strips the national prefix 1', () => {
    assert.equal(normaliseNumber('14155550100', NANP), '+14155550100');
  });
  it('turns the international prefix 011 into +', () => {
    assert.equal(normaliseNumber('011442079460000', NANP), '+442079460000');
    assert.equal(normaliseNumber('01133142685300', NANP), '+33142685300');
  });
  it('keeps a + number as it is', () => {
    assert.equal(normaliseNumber('+14155550100', NANP), '+14155550100');
    assert.equal(normaliseNumber('+442079460000', NANP), '+442079460000');
  });
  it('drops visual separators: spaces, dashes, dots, parentheses', () => {
    assert.equal(normaliseNumber('(415) 555-0100', NANP), '+14155550100');
    assert.equal(normaliseNumber('1-415-555-0100', NANP), '+14155550100');
    assert.equal(normaliseNumber('415.555.0100', NANP), '+14155550100');
    assert.equal(normaliseNumber('+1 (415) 555-0100', NANP), '+14155550100');
    assert.equal(normaliseNumber('011 44 20 7946 0000', NANP), '+442079460000');
    assert.equal(normaliseNumber('415\t555\t0100', NANP), '+14155550100');
  });
});

describe('normaliseNumber under the UK plan (country 44, national 0, international 00)', () => {
  it('strips the national prefix 0', () => {
    assert.equal(normaliseNumber('02079460000', UK), '+442079460000');
    assert.equal(normaliseNumber('07700900123', UK), '+447700900123');
  });
  it('reads the international prefix 00 before the national prefix 0', () => {
    assert.equal(normaliseNumber('0014155550100', UK), '+14155550100');
    assert.equal(normaliseNumber('00 33 1 42 68 53 00', UK), '+33142685300');
  });
  it('reads a national number dialled without its prefix', () => {
    assert.equal(normaliseNumber('2079460000', UK), '+442079460000');
  });
  it('keeps + numbers and drops separators', () => {
    assert.equal(normaliseNumber('+44 20 7946 0000', UK), '+442079460000');
    assert.equal(normaliseNumber('020 7946 0000', UK), '+442079460000');
  });
});

describe('normaliseNumber under a plan without a national prefix', () => {
  it('keeps a leading 0 as part of the national number', () => {
    assert.equal(normaliseNumber('0612345678', ITALY), '+390612345678');
  });
  it('still reads the international prefix', () => {
    assert.equal(normaliseNumber('00390612345678', ITALY), '+390612345678');
    assert.equal(normaliseNumber('0014155550100', ITALY), '+14155550100');
  });
  it('adds the country code to anything else', () => {
    assert.equal(normaliseNumber('3123456789', ITALY), '+393123456789');
  });
});

describe('normaliseNumber refuses what cannot be E.164', () => {
  it('refuses numbers too short', () => {
    assert.equal(normaliseNumber('+123456', NANP), undefined);
    assert.equal(normaliseNumber('911', NANP), undefined); // +1911: four digits
    assert.equal(normaliseNumber('0112', NANP), undefined);
  });
  it('refuses numbers too long', () => {
    assert.equal(normaliseNumber('+1234567890123456', NANP), undefined);
    assert.equal(normaliseNumber('4155550100123456', NANP), undefined);
    assert.equal(normaliseNumber('00123456789012345678', UK), undefined);
  });
  it('accepts the limits, 7 and 15 digits', () => {
    assert.equal(normaliseNumber('+1234567', NANP), '+1234567');
    assert.equal(normaliseNumber('+123456789012345', NANP), '+123456789012345');
  });
  it('refuses a country code starting with 0', () => {
    assert.equal(normaliseNumber('+04155550100', NANP), undefined);
    assert.equal(normaliseNumber('00004155550100', UK), undefined);
  });
  it('refuses non-digits', () => {
    assert.equal(normaliseNumber('415555010a', NANP), undefined);
    assert.equal(normaliseNumber('*674155550100', NANP), undefined);
    assert.equal(normaliseNumber('4155550100#', NANP), undefined);
    assert.equal(normaliseNumber('alice', NANP), undefined);
    assert.equal(normaliseNumber('1+4155550100', NANP), undefined);
    assert.equal(normaliseNumber('++14155550100', NANP), undefined);
    assert.equal(normaliseNumber('4155550100;npdi', NANP), undefined);
  });
  it('refuses empty input and a lone +', () => {
    assert.equal(normaliseNumber('', NANP), undefined);
    assert.equal(normaliseNumber('+', NANP), undefined);
    assert.equal(normaliseNumber(' - ', NANP), undefined);
  });
});

describe('normaliseCarrierNumber', () => {
  it('without a plan reads E.164 with or without +', () => {
    assert.equal(normaliseCarrierNumber('+14155550100', undefined), '+14155550100');
    assert.equal(normaliseCarrierNumber('14155550100', undefined), '+14155550100');
    assert.equal(normaliseCarrierNumber('442079460000', undefined), '+442079460000');
  });
  it('without a plan drops visual separators', () => {
    assert.equal(normaliseCarrierNumber('+1 415-555-0100', undefined), '+14155550100');
    assert.equal(normaliseCarrierNumber('1 (415) 555.0100', undefined), '+14155550100');
  });
  it('without a plan applies no national or international prefix', () => {
    assert.equal(normaliseCarrierNumber('0014155550100', undefined), undefined);
    assert.equal(normaliseCarrierNumber('02079460000', undefined), undefined);
  });
  it('without a plan refuses non-digits and bad lengths', () => {
    assert.equal(normaliseCarrierNumber('anonymous', undefined), undefined);
    assert.equal(normaliseCarrierNumber('1415555010x', undefined), undefined);
    assert.equal(normaliseCarrierNumber('123456', undefined), undefined);
    assert.equal(normaliseCarrierNumber('1234567890123456', undefined), undefined);
    assert.equal(normaliseCarrierNumber('', undefined), undefined);
    assert.equal(normaliseCarrierNumber('++14155550100', undefined), undefined);
  });
  it('with a plan reads national and international numbers under it', () => {
    assert.equal(normaliseCarrierNumber('4155550100', NANP), '+14155550100');
    assert.equal(normaliseCarrierNumber('14155550100', NANP), '+14155550100');
    assert.equal(normaliseCarrierNumber('011442079460000', NANP), '+442079460000');
    assert.equal(normaliseCarrierNumber('02079460000', UK), '+442079460000');
    assert.equal(normaliseCarrierNumber('+14155550100', UK), '+14155550100');
  });
  it('with a plan a bare ten digits is national, not E.164 without +', () => {
    assert.equal(normaliseCarrierNumber('2079460000', UK), '+442079460000');
    assert.equal(normaliseCarrierNumber('2079460000', undefined), '+2079460000');
  });
});

describe('formatNumber', () => {
  it('writes e164 with its +', () => {
    assert.equal(formatNumber('+14155550100', 'e164'), '+14155550100');
  });
  it('writes e164-digits without the +', () => {
    assert.equal(formatNumber('+14155550100', 'e164-digits'), '14155550100');
    assert.equal(formatNumber('+442079460000', 'e164-digits'), '442079460000');
  });
});

describe('numberOf', () => {
  it('reads a global tel: URI', () => {
    assert.equal(numberOf(parseUri('tel:+14155550100')), '+14155550100');
  });
  it('keeps a tel: URI number’s separators and drops its parameters', () => {
    assert.equal(numberOf(parseUri('tel:+1-415-555-0100;npdi')), '+1-415-555-0100');
  });
  it('reads the user part of a sip: URI', () => {
    assert.equal(numberOf(parseUri('sip:+14155550100@acme.trunks.example;user=phone')), '+14155550100');
    assert.equal(numberOf(parseUri('sips:4155550100@acme.trunks.example:5061')), '4155550100');
  });
  it('drops user parameters (RFC 4694 npdi, rn)', () => {
    assert.equal(numberOf(parseUri('sip:+14155550100;npdi@carrier.example;user=phone')), '+14155550100');
    assert.equal(numberOf(parseUri('sip:+14155550100;npdi;rn=+14155559999@carrier.example;user=phone')), '+14155550100');
    assert.equal(numberOf(parseUri('sip:+14155550100;isub=1234@carrier.example')), '+14155550100');
  });
  it('undoes %-escapes in the user part (RFC 3261 §19.1.4)', () => {
    assert.equal(numberOf(parseUri('sip:%2B14155550100@acme.trunks.example')), '+14155550100');
  });
  it('keeps a non-numeric user as it is', () => {
    assert.equal(numberOf(parseUri('sip:anonymous@anonymous.invalid')), 'anonymous');
  });
  it('is undefined for a sip: URI without a user', () => {
    assert.equal(numberOf(parseUri('sip:acme.trunks.example')), undefined);
    assert.equal(numberOf(parseUri('sip:192.0.2.1:5060;transport=tcp')), undefined);
  });
  it('is undefined for other schemes and no URI', () => {
    assert.equal(numberOf(parseUri('mailto:ops@example.com')), undefined);
    assert.equal(numberOf(undefined), undefined);
  });
});

describe('hasPrefix', () => {
  it('matches a prefix written without +', () => {
    assert.equal(hasPrefix('+14155550100', '1'), true);
    assert.equal(hasPrefix('+14155550100', '1415'), true);
    assert.equal(hasPrefix('+14155550100', '44'), false);
  });
  it('matches a prefix written with +', () => {
    assert.equal(hasPrefix('+14155550100', '+1415'), true);
    assert.equal(hasPrefix('+442079460000', '+44'), true);
    assert.equal(hasPrefix('+442079460000', '+1'), false);
  });
  it('reads a number without + the same', () => {
    assert.equal(hasPrefix('14155550100', '+1'), true);
    assert.equal(hasPrefix('14155550100', '1'), true);
  });
  it('treats the empty prefix (and a lone +) as matching every number', () => {
    assert.equal(hasPrefix('+14155550100', ''), true);
    assert.equal(hasPrefix('+442079460000', '+'), true);
  });
  it('does not match a prefix longer than the number', () => {
    assert.equal(hasPrefix('+1415', '14155'), false);
  });
  it('matches from the start only', () => {
    assert.equal(hasPrefix('+14155550100', '415'), false);
  });
});

describe('prefixLength', () => {
  it('counts digits, not the +', () => {
    assert.equal(prefixLength('+44'), 2);
    assert.equal(prefixLength('44'), 2);
    assert.equal(prefixLength(''), 0);
    assert.equal(prefixLength('+'), 0);
  });
});
