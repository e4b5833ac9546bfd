// Unit tests of validateMessage (RFC 3261 §8.1.1, §8.2.2).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipParseError } from './errors.js';
import type { SipMessage } from './message.js';
import { validateMessage } from './parser.js';
import { HEADERS, invite, request, response, RESPONSE_HEADERS, wire, withHeaders } from './testing/parser-fixtures.js';

describe('validateMessage', () => {
  const valid = () => request(invite());

  test('a complete request passes', () => {
    assert.equal(validateMessage(valid()), undefined);
  });

  test('a complete response passes', () => {
    assert.equal(validateMessage(response(wire(['SIP/2.0 200 OK', ...RESPONSE_HEADERS, 'Content-Length: 0']))), undefined);
  });

  for (const [label, prefix] of [['Call-ID', 'Call-ID:'], ['From', 'From:'], ['To', 'To:'], ['CSeq', 'CSeq:']] as const) {
    test(`a missing ${label} is "Missing ${label}"`, () => {
      const err = validateMessage(request(withHeaders(HEADERS.filter((h) => !h.startsWith(prefix)))));
      assert.ok(err instanceof SipParseError);
      assert.equal(err.code, 'missing-header');
      assert.equal(err.reason, `Missing ${label}`);
      assert.equal(err.header, label);
      assert.equal(err.status, 400);
    });

    test(`a duplicate ${label} is "Duplicate ${label}"`, () => {
      const line = HEADERS.find((h) => h.startsWith(prefix)) as string;
      const err = validateMessage(request(withHeaders([...HEADERS, line])));
      assert.equal(err?.code, 'duplicate-header');
      assert.equal(err?.reason, `Duplicate ${label}`);
      assert.equal(err?.header, label);
    });
  }

  test('a compact and a long Call-ID together are a duplicate', () => {
    const err = validateMessage(request(withHeaders([...HEADERS, 'i: other@host'])));
    assert.equal(err?.reason, 'Duplicate Call-ID');
  });

  test('a missing Via is "Missing Via"', () => {
    const err = validateMessage(request(withHeaders(HEADERS.filter((h) => !h.startsWith('Via')))));
    assert.equal(err?.code, 'missing-header');
    assert.equal(err?.reason, 'Missing Via');
    assert.equal(err?.header, 'Via');
  });

  test('two Max-Forwards are "Duplicate Max-Forwards"', () => {
    const err = validateMessage(request(withHeaders([...HEADERS, 'Max-Forwards: 70'])));
    assert.equal(err?.code, 'duplicate-header');
    assert.equal(err?.reason, 'Duplicate Max-Forwards');
  });

  test('a CSeq method other than the request method is a mismatch', () => {
    const err = validateMessage(request(withHeaders([...HEADERS.filter((h) => !h.startsWith('CSeq')), 'CSeq: 314159 BYE'])));
    assert.equal(err?.code, 'cseq-method-mismatch');
    assert.equal(err?.header, 'CSeq');
    assert.equal(err?.status, 400);
  });

  test('the CSeq method is compared case-sensitively', () => {
    const err = validateMessage(request(withHeaders([...HEADERS.filter((h) => !h.startsWith('CSeq')), 'CSeq: 314159 invite'])));
    assert.equal(err?.code, 'cseq-method-mismatch');
  });

  test('a response may carry any CSeq method', () => {
    const m: SipMessage = response(wire(['SIP/2.0 200 OK', ...RESPONSE_HEADERS.filter((h) => !h.startsWith('CSeq')), 'CSeq: 2 BYE']));
    assert.equal(validateMessage(m), undefined);
  });
});
