// Unit tests of CSeq values (RFC 3261 §20.16).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CSeq, MAX_CSEQ, parseCSeq } from './cseq.js';
import { HeaderValueError } from './errors.js';

describe('parseCSeq', () => {
  test('reads the number and the method', () => {
    const c = parseCSeq('314159 INVITE');
    assert.equal(c.seq, 314159);
    assert.equal(c.method, 'INVITE');
  });

  test('surrounding whitespace and several SP/HTAB between the parts are allowed', () => {
    const c = parseCSeq(' \t9 \t ACK ');
    assert.equal(c.seq, 9);
    assert.equal(c.method, 'ACK');
  });

  test('leading zeros are allowed', () => {
    assert.equal(parseCSeq('0000000000000000000000000000000000000000000000000000000000000000009 REGISTER').seq, 9);
  });

  test('the number may be as large as 2**32-1, not larger', () => {
    assert.equal(parseCSeq('4294967295 OPTIONS').seq, MAX_CSEQ);
    assert.throws(() => parseCSeq('4294967296 OPTIONS'), HeaderValueError);
  });

  test('an extension method is kept as written', () => {
    assert.equal(parseCSeq('1 fooBar').method, 'fooBar');
  });

  test('a missing part, a negative number or a non-token method is refused', () => {
    for (const s of ['INVITE', '1', '1INVITE', '-1 INVITE', 'x INVITE', '1 INV ITE', '1 INV;ITE', '']) {
      assert.throws(() => parseCSeq(s), HeaderValueError, s);
    }
  });

  test('toString writes "<seq> <method>"', () => {
    assert.equal(new CSeq(7, 'BYE').toString(), '7 BYE');
    assert.equal(parseCSeq('007  BYE').toString(), '7 BYE');
  });
});
