// Unit tests of the character classes and escaping helpers (RFC 3261 §25.1, §19.1.2).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  escapeUser, isDigits, isHost, isToken, isUriUser, isWord, parseBoundedInt, unescapePercent,
} from './grammar.js';

describe('unescapePercent', () => {
  test('undoes %HH escapes, hex of either case', () => {
    assert.equal(unescapePercent('%41%62%2f%2F'), 'Ab//');
  });

  test('decodes escaped UTF-8 sequences as UTF-8', () => {
    assert.equal(unescapePercent('caf%C3%A9 %E2%82%AC'), 'café €');
  });

  test('decodes an escaped NUL', () => {
    assert.equal(unescapePercent('null-%00-null'), 'null-\u0000-null');
  });

  test('keeps incomplete or non-hex escapes literally', () => {
    assert.equal(unescapePercent('100%'), '100%');
    assert.equal(unescapePercent('%4'), '%4');
    assert.equal(unescapePercent('%ZZ%41'), '%ZZA');
  });

  test('returns text without % unchanged', () => {
    assert.equal(unescapePercent('plain'), 'plain');
  });
});

describe('escapeUser', () => {
  test('keeps user-unreserved characters, escapes the rest as UTF-8 with upper-case hex', () => {
    assert.equal(escapeUser('+1-212;x=y?/'), '+1-212;x=y?/');
    assert.equal(escapeUser('al ice@é'), 'al%20ice%40%C3%A9');
  });

  test('escapeUser and unescapePercent round-trip, and the result is a valid user', () => {
    for (const s of ['a b', 'x@y', 'Zoë', '%', '"quoted"', '\u0000']) {
      const e = escapeUser(s);
      assert.ok(isUriUser(e), e);
      assert.equal(unescapePercent(e), s);
    }
  });
});

describe('character classes', () => {
  test('isToken accepts the RFC token set and refuses separators', () => {
    assert.ok(isToken("!interesting-Method0123456789_*+`.%indeed'~"));
    for (const s of ['', 'a b', 'a:b', 'a/b', 'a"b', 'a(b', 'a,b', 'a;b', 'é']) assert.ok(!isToken(s), s);
  });

  test('isWord also accepts the word separators', () => {
    assert.ok(isWord('()<>:\\"/[]?{}'));
    assert.ok(!isWord('a b'));
    assert.ok(!isWord('a;b'));
  });

  test('isHost accepts names, IPv4 and bracketed IPv6 only', () => {
    assert.ok(isHost('example.com'));
    assert.ok(isHost('192.0.2.1'));
    assert.ok(isHost('[2001:db8::1]'));
    assert.ok(isHost('[::ffff:192.0.2.1]'));
    for (const s of ['', '[]', '[2001:db8::g]', '2001:db8::1', '[2001:db8::1', 'a b', 'a@b']) assert.ok(!isHost(s), s);
  });

  test('isDigits needs at least one digit and nothing else', () => {
    assert.ok(isDigits('0123'));
    assert.ok(!isDigits(''));
    assert.ok(!isDigits('12a'));
    assert.ok(!isDigits('-1'));
  });
});

describe('parseBoundedInt', () => {
  test('reads decimal digits up to the bound', () => {
    assert.equal(parseBoundedInt('255', 255), 255);
    assert.equal(parseBoundedInt('256', 255), -1);
  });

  test('leading zeros are legal and do not count toward length', () => {
    assert.equal(parseBoundedInt('0000000000000000000070', 255), 70);
    assert.equal(parseBoundedInt('0', 255), 0);
  });

  test('anything but digits is -1', () => {
    assert.equal(parseBoundedInt('', 10), -1);
    assert.equal(parseBoundedInt(' 1', 10), -1);
    assert.equal(parseBoundedInt('1e1', 100), -1);
  });

  test('a huge number is -1, not a rounded float', () => {
    assert.equal(parseBoundedInt('99999999999999999999', Number.MAX_SAFE_INTEGER), -1);
  });
});
