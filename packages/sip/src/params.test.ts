// Unit tests of generic parameters, quoting and top-level splitting (RFC 3261 §25.1).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeaderValueError } from './errors.js';
import { formatParams, getParam, hasParam, parseParams, quote, skipQuoted, splitTopLevel, unquote, withParam } from './params.js';

describe('parseParams', () => {
  test('reads values and flags in order', () => {
    assert.deepEqual(parseParams(';tag=1;lr;q=0.5'), [
      { name: 'tag', value: '1' }, { name: 'lr', value: null }, { name: 'q', value: '0.5' },
    ]);
  });

  test('an empty string has no parameters; leading whitespace is allowed', () => {
    assert.deepEqual(parseParams(''), []);
    assert.deepEqual(parseParams('  ;a=1'), [{ name: 'a', value: '1' }]);
  });

  test('a quoted value keeps its quotes and may hold ; and =', () => {
    assert.deepEqual(parseParams(';text="a;b=c";x=1'), [{ name: 'text', value: '"a;b=c"' }, { name: 'x', value: '1' }]);
  });

  test('host values (IPv4, bracketed IPv6) are accepted', () => {
    assert.equal(parseParams(';maddr=192.0.2.1;m6=[2001:db8::1]')[1]?.value, '[2001:db8::1]');
  });

  test('an empty parameter is refused', () => {
    assert.throws(() => parseParams(';;a'), HeaderValueError);
    assert.throws(() => parseParams(';a;'), HeaderValueError);
  });

  test('text that does not start with ; is refused', () => {
    assert.throws(() => parseParams('a=1'), HeaderValueError);
  });

  test('a name that is not a token is refused', () => {
    assert.throws(() => parseParams(';a b=1'), HeaderValueError);
    assert.throws(() => parseParams(';=1'), HeaderValueError);
  });

  test('a value that is not a token, host or quoted string is refused', () => {
    assert.throws(() => parseParams(';a=x y'), HeaderValueError);
    assert.throws(() => parseParams(';a="x'), HeaderValueError);
    assert.throws(() => parseParams(';a="x"y'), HeaderValueError);
    assert.throws(() => parseParams(';a='), HeaderValueError);
  });

  test('a custom check decides what values are accepted', () => {
    assert.deepEqual(parseParams(';a=x y', () => true), [{ name: 'a', value: 'x y' }]);
  });
});

describe('getParam / hasParam / withParam / formatParams', () => {
  const params = parseParams(';Tag=abc;lr;text="say \\"hi\\""');

  test('getParam ignores the name case and unquotes', () => {
    assert.equal(getParam(params, 'tag'), 'abc');
    assert.equal(getParam(params, 'TEXT'), 'say "hi"');
  });

  test('getParam: null for a flag, undefined when absent', () => {
    assert.equal(getParam(params, 'lr'), null);
    assert.equal(getParam(params, 'x'), undefined);
    assert.equal(hasParam(params, 'lr'), true);
    assert.equal(hasParam(params, 'x'), false);
  });

  test('withParam replaces in place, appends when absent, removes on undefined', () => {
    assert.equal(formatParams(withParam(params, 'TAG', 'new')), ';TAG=new;lr;text="say \\"hi\\""');
    assert.equal(formatParams(withParam(params, 'q', '1')), ';Tag=abc;lr;text="say \\"hi\\"";q=1');
    assert.equal(formatParams(withParam(params, 'lr', undefined)), ';Tag=abc;text="say \\"hi\\""');
    assert.equal(formatParams(withParam(params, 'tag', null)), ';tag;lr;text="say \\"hi\\""');
  });

  test('withParam does not change the original list', () => {
    withParam(params, 'tag', 'x');
    assert.equal(getParam(params, 'tag'), 'abc');
  });
});

describe('quote / unquote / skipQuoted', () => {
  test('quote escapes quotes, backslashes and control characters, drops CR and LF', () => {
    assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(quote('bel\x07'), '"bel\\\x07"');
    assert.equal(quote('tab\tok'), '"tab\tok"');
    assert.equal(quote('line\r\nbreak'), '"linebreak"');
  });

  test('unquote undoes quote', () => {
    for (const s of ['', 'plain', 'a"b\\c', 'x\x00y', 'Zoë']) assert.equal(unquote(quote(s)), s);
  });

  test('unquote leaves unquoted text alone', () => {
    assert.equal(unquote('abc'), 'abc');
    assert.equal(unquote('"abc'), '"abc');
    assert.equal(unquote('"'), '"');
  });

  test('skipQuoted returns the index past the closing quote, honouring escapes', () => {
    assert.equal(skipQuoted('x"a\\"b"y', 1), 7);
    assert.equal(skipQuoted('"open', 0), -1);
  });
});

describe('splitTopLevel', () => {
  test('splits on the separator outside quotes and <>', () => {
    assert.deepEqual(splitTopLevel('a;"b;c";<d;e>;f', 59), ['a', '"b;c"', '<d;e>', 'f']);
  });

  test('a stray > does not unbalance the brackets', () => {
    assert.deepEqual(splitTopLevel('a>,b', 44), ['a>', 'b']);
  });

  test('an unterminated quoted string is refused', () => {
    assert.throws(() => splitTopLevel('"a,b', 44), HeaderValueError);
  });
});
