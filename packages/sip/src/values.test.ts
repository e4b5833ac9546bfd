// Unit tests of the header value parsers: token+params, Content-Type, delta-seconds, token lists,
// Call-ID, Replaces, Date, list splitting.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeaderValueError } from './errors.js';
import {
  DeltaSeconds, ParamValue, parseCallId, parseContentType, parseDeltaSeconds, parseReplaces, parseSipDate,
  parseTokenList, parseTokenParams, Replaces, splitList,
} from './values.js';

const rejects = (fn: () => unknown) => assert.throws(fn, HeaderValueError);

describe('parseTokenParams', () => {
  test('reads a token and its parameters', () => {
    const v = parseTokenParams(' presence ;id=1;expires=60 ');
    assert.equal(v.value, 'presence');
    assert.equal(v.param('id'), '1');
    assert.equal(v.param('EXPIRES'), '60');
  });

  test('a value without parameters', () => {
    assert.deepEqual(parseTokenParams('active').params, []);
  });

  test('a value that is not a token is refused', () => {
    rejects(() => parseTokenParams('pres ence'));
    rejects(() => parseTokenParams(''));
    rejects(() => parseTokenParams(';id=1'));
  });

  test('toString writes value and parameters', () => {
    assert.equal(new ParamValue('refer', [{ name: 'id', value: '7' }]).toString(), 'refer;id=7');
  });
});

describe('parseContentType', () => {
  test('lower-cases the media type and removes whitespace around /', () => {
    assert.equal(parseContentType('Application / SDP').value, 'application/sdp');
  });

  test('parameters keep their case; quoted values are unquoted', () => {
    const v = parseContentType('multipart/mixed;boundary="Unique-Boundary";charset=UTF-8');
    assert.equal(v.param('boundary'), 'Unique-Boundary');
    assert.equal(v.param('charset'), 'UTF-8');
  });

  test('a media type without / or with non-token parts is refused', () => {
    rejects(() => parseContentType('sdp'));
    rejects(() => parseContentType('/sdp'));
    rejects(() => parseContentType('application/'));
    rejects(() => parseContentType('applic@tion/sdp'));
  });
});

describe('parseDeltaSeconds', () => {
  test('reads seconds and parameters', () => {
    const v = parseDeltaSeconds('1800;refresher=uas');
    assert.ok(v instanceof DeltaSeconds);
    assert.equal(v.seconds, 1800);
    assert.equal(v.param('refresher'), 'uas');
  });

  test('leading zeros are read as decimal', () => {
    assert.equal(parseDeltaSeconds('0090').seconds, 90);
    assert.equal(parseDeltaSeconds('0090').value, '90');
  });

  test('a comment is ignored (Retry-After)', () => {
    const v = parseDeltaSeconds('18000 (in five hours) ;duration=3600');
    assert.equal(v.seconds, 18000);
    assert.equal(v.param('duration'), '3600');
  });

  test('a nested comment is ignored', () => {
    assert.equal(parseDeltaSeconds('120 (back (really) soon)').seconds, 120);
  });

  test('a comment with an escaped parenthesis is ignored', () => {
    assert.equal(parseDeltaSeconds('120 (smile :\\) ok)').seconds, 120);
  });

  test('an unclosed comment is refused', () => {
    rejects(() => parseDeltaSeconds('120 (back soon'));
  });

  test('up to 2**32-1 seconds are accepted', () => {
    assert.equal(parseDeltaSeconds('4294967295').seconds, 4294967295);
    rejects(() => parseDeltaSeconds('4294967296'));
  });

  test('a value that is not digits is refused', () => {
    rejects(() => parseDeltaSeconds('soon'));
    rejects(() => parseDeltaSeconds('-1'));
    rejects(() => parseDeltaSeconds('1.5'));
    rejects(() => parseDeltaSeconds(''));
  });
});

describe('parseTokenList', () => {
  test('reads comma-separated tokens with whitespace', () => {
    assert.deepEqual(parseTokenList(' timer ,100rel,  replaces '), ['timer', '100rel', 'replaces']);
  });

  test('empty elements are skipped', () => {
    assert.deepEqual(parseTokenList('a,,b,'), ['a', 'b']);
    assert.deepEqual(parseTokenList(''), []);
  });

  test('an element that is not a token is refused', () => {
    rejects(() => parseTokenList('timer, 100 rel'));
    rejects(() => parseTokenList('"timer"'));
  });
});

describe('parseCallId', () => {
  test('word and word@word are accepted and trimmed', () => {
    assert.equal(parseCallId(' f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com '), 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com');
    assert.equal(parseCallId('a84b4c76e66710'), 'a84b4c76e66710');
  });

  test('the word characters of RFC 3261 are accepted', () => {
    assert.equal(parseCallId('-.!%*_+`\'~()<>:\\"/[]?{}@x'), '-.!%*_+`\'~()<>:\\"/[]?{}@x');
  });

  test('whitespace, two @ or an empty side are refused', () => {
    rejects(() => parseCallId('a b'));
    rejects(() => parseCallId('a@b@c'));
    rejects(() => parseCallId('@b'));
    rejects(() => parseCallId('a@'));
    rejects(() => parseCallId(''));
  });

  test('non-ASCII and semicolons are refused', () => {
    rejects(() => parseCallId('caf\u00e9@h'));
    rejects(() => parseCallId('a;b'));
  });
});

describe('parseReplaces', () => {
  test('reads call-id, to-tag, from-tag', () => {
    const r = parseReplaces('425928@bobster.example.org;to-tag=7743;from-tag=6472');
    assert.ok(r instanceof Replaces);
    assert.equal(r.callId, '425928@bobster.example.org');
    assert.equal(r.toTag, '7743');
    assert.equal(r.fromTag, '6472');
    assert.equal(r.earlyOnly, false);
  });

  test('early-only is a flag', () => {
    assert.equal(parseReplaces('a@b;from-tag=1;to-tag=2;early-only').earlyOnly, true);
  });

  test('both tags are required', () => {
    rejects(() => parseReplaces('a@b;to-tag=1'));
    rejects(() => parseReplaces('a@b;from-tag=1'));
    rejects(() => parseReplaces('a@b;from-tag;to-tag=1'));
    rejects(() => parseReplaces('a@b'));
  });

  test('a bad call-id is refused', () => {
    rejects(() => parseReplaces('a b;to-tag=1;from-tag=2'));
  });

  test('toString writes the call-id and parameters', () => {
    assert.equal(parseReplaces('a@b;to-tag=1;from-tag=2').toString(), 'a@b;to-tag=1;from-tag=2');
  });
});

describe('parseSipDate', () => {
  test('reads an RFC 1123 GMT date', () => {
    assert.equal(parseSipDate('Sat, 13 Nov 2010 23:29:00 GMT'), Date.UTC(2010, 10, 13, 23, 29, 0));
    assert.equal(parseSipDate('Thu, 21 Feb 2002 13:02:03 GMT'), Date.UTC(2002, 1, 21, 13, 2, 3));
  });

  test('only GMT is accepted', () => {
    rejects(() => parseSipDate('Sat, 13 Nov 2010 23:29:00 PST'));
    rejects(() => parseSipDate('Sat, 13 Nov 2010 23:29:00 +0000'));
  });

  test('names of days and months must be the RFC 1123 ones', () => {
    rejects(() => parseSipDate('Sam, 13 Nov 2010 23:29:00 GMT'));
    rejects(() => parseSipDate('Sat, 13 Nox 2010 23:29:00 GMT'));
  });

  test('other date shapes are refused', () => {
    rejects(() => parseSipDate('13 Nov 2010 23:29:00 GMT'));
    rejects(() => parseSipDate('Sat, 3 Nov 2010 23:29:00 GMT'));
    rejects(() => parseSipDate('2010-11-13T23:29:00Z'));
  });
});

describe('splitList', () => {
  test('splits on commas outside quotes and <>', () => {
    assert.deepEqual(splitList('"a,b" <sip:x>, <sip:y,z@h>;p="1,2", c'), ['"a,b" <sip:x>', ' <sip:y,z@h>;p="1,2"', ' c']);
  });

  test('escaped quotes do not end a quoted string', () => {
    assert.deepEqual(splitList('"a\\",b" <sip:x>, <sip:y>'), ['"a\\",b" <sip:x>', ' <sip:y>']);
  });

  test('empty elements are ignored', () => {
    assert.deepEqual(splitList('a,, ,b'), ['a', 'b']);
    assert.deepEqual(splitList(''), []);
  });

  test('an unterminated quoted string is refused', () => {
    rejects(() => splitList('"a, b'));
  });
});
