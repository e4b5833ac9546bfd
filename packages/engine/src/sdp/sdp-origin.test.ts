// SDP origin continuity across a transfer (RFC 3264 §8).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OriginKeeper, readOrigin, withOrigin, type SdpOrigin } from './sdp-origin.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
// Read through a call: an assertion on the getter would narrow it for the rest of the test.
const originOf = (k: OriginKeeper): SdpOrigin | undefined => k.origin;

const sdp = (origin: string, port = 6000, eol = '\r\n'): string =>
  ['v=0', origin, 's=-', 'c=IN IP4 198.51.100.5', 't=0 0', `m=audio ${port} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', ''].join(eol);

const B = 'o=carrier 1234 5 IN IP4 198.51.100.5';
const C = 'o=- 8899776655 1 IN IP4 203.0.113.9';

describe('readOrigin', () => {
  test('parses the six fields from a string and from bytes', () => {
    const expected: SdpOrigin = {
      username: 'carrier', sessionId: '1234', version: 5n, netType: 'IN', addrType: 'IP4', address: '198.51.100.5',
    };
    assert.deepEqual(readOrigin(sdp(B)), expected);
    assert.deepEqual(readOrigin(bytes(sdp(B))), expected);
    assert.deepEqual(readOrigin(sdp(B, 6000, '\n')), expected, 'LF line endings');
    assert.deepEqual(readOrigin('v=0\r\no=jdoe 2890844526 2890842807 IN IP6 2001:db8::1'), {
      username: 'jdoe', sessionId: '2890844526', version: 2890842807n, netType: 'IN', addrType: 'IP6', address: '2001:db8::1',
    }, 'last line without a line ending');
  });

  test('no o= line, a malformed one, or one only after m= gives undefined', () => {
    assert.equal(readOrigin('v=0\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\n'), undefined);
    assert.equal(readOrigin(''), undefined);
    assert.equal(readOrigin('v=0\r\no=carrier 1234 5 IN IP4\r\n'), undefined, 'five fields');
    assert.equal(readOrigin('v=0\r\no=carrier 1234 5 IN IP4 198.51.100.5 extra\r\n'), undefined, 'seven fields');
    assert.equal(readOrigin('v=0\r\no=carrier 1234 5 IN IP4 \r\n'), undefined, 'an empty address');
    assert.equal(readOrigin('v=0\r\no=carrier  5 IN IP4 198.51.100.5\r\n'), undefined, 'an empty session id');
    assert.equal(readOrigin('v=0\r\no=carrier 1234 v5 IN IP4 198.51.100.5\r\n'), undefined, 'non-numeric version');
    assert.equal(readOrigin('v=0\r\no=carrier 1234 -5 IN IP4 198.51.100.5\r\n'), undefined, 'negative version');
    assert.equal(readOrigin('v=0\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\no=x 1 1 IN IP4 192.0.2.1\r\n'), undefined, 'o= in a media section');
    assert.equal(readOrigin('v=0\r\nx=o=carrier 1 1 IN IP4 192.0.2.1\r\n'), undefined);
  });

  test('huge versions are exact bigints', () => {
    const o = readOrigin('v=0\r\no=- 1 123456789012345678901234567890 IN IP4 192.0.2.1\r\n');
    assert.equal(o?.version, 123456789012345678901234567890n);
  });
});

describe('withOrigin', () => {
  const keep = readOrigin(B) ?? assert.fail('B parses');

  test('CRLF: only the o= line changes, to keep with version + 1', () => {
    const out = withOrigin(bytes(sdp(C)), keep);
    assert.equal(text(out.sdp), sdp('o=carrier 1234 6 IN IP4 198.51.100.5'));
    assert.deepEqual(out.origin, { ...keep, version: 6n });
    assert.equal(keep.version, 5n, 'keep is not modified');
  });

  test('LF file: line endings preserved', () => {
    const out = withOrigin(bytes(sdp(C, 7000, '\n')), keep);
    assert.equal(text(out.sdp), sdp('o=carrier 1234 6 IN IP4 198.51.100.5', 7000, '\n'));
    assert.ok(!text(out.sdp).includes('\r'));
  });

  test('o= on the last line without a line ending, and a shorter replacement line', () => {
    const input = bytes(`v=0\r\no=a-very-long-username 99999999999 99999999999 IN IP4 203.0.113.200`);
    const out = withOrigin(input, { username: 'b', sessionId: '1', version: 1n, netType: 'IN', addrType: 'IP4', address: '192.0.2.1' });
    assert.equal(text(out.sdp), 'v=0\r\no=b 1 2 IN IP4 192.0.2.1');
  });

  test('bytes around the o= line are kept exactly, even ones that are not UTF-8', () => {
    const head = bytes('v=0\r\n');
    const tail = Uint8Array.from([...bytes('\r\ns=caf'), 0xe9, 0xff, ...bytes('\r\nt=0 0\r\n')]);
    const input = Uint8Array.from([...head, ...bytes(C), ...tail]);
    const out = withOrigin(input, keep).sdp;
    const line = bytes('o=carrier 1234 6 IN IP4 198.51.100.5');
    assert.deepEqual([...out], [...head, ...line, ...tail]);
  });

  test('no o= line: the input itself, keep as the origin shown', () => {
    const input = bytes('v=0\r\ns=-\r\nt=0 0\r\n');
    const out = withOrigin(input, keep);
    assert.equal(out.sdp, input);
    assert.equal(out.origin, keep);
  });

  test('huge version: 2^64 - 1 + 1 without rounding', () => {
    const big = { ...keep, version: 18_446_744_073_709_551_615n };
    const out = withOrigin(bytes(sdp(C)), big);
    assert.equal(out.origin.version, 18_446_744_073_709_551_616n);
    assert.match(text(out.sdp), /\r\no=carrier 1234 18446744073709551616 IN IP4 198\.51\.100\.5\r\n/);
  });
});

describe('OriginKeeper', () => {
  test('first SDP unchanged and remembered; later SDPs from another far end: same origin, version + 1 each', () => {
    const keeper = new OriginKeeper();
    assert.equal(originOf(keeper), undefined);
    const first = bytes(sdp(B));
    assert.equal(keeper.show(first), first);
    assert.equal(keeper.origin?.version, 5n);

    const afterTransfer = keeper.show(bytes(sdp(C, 7000)));
    assert.equal(text(afterTransfer), sdp('o=carrier 1234 6 IN IP4 198.51.100.5', 7000));
    // C's own re-offer (its version 2): still shown as B's origin, next version.
    const reoffer = keeper.show(bytes(sdp('o=- 8899776655 2 IN IP4 203.0.113.9', 7002)));
    assert.equal(text(reoffer), sdp('o=carrier 1234 7 IN IP4 198.51.100.5', 7002));
    // A second transfer, to D.
    const d = keeper.show(bytes(sdp('o=dee 42 900 IN IP4 192.0.2.77', 8000)));
    assert.equal(text(d), sdp('o=carrier 1234 8 IN IP4 198.51.100.5', 8000));
    assert.deepEqual(keeper.origin, { username: 'carrier', sessionId: '1234', version: 8n, netType: 'IN', addrType: 'IP4', address: '198.51.100.5' });
  });

  test('same origin with a higher version: passed through unchanged', () => {
    const keeper = new OriginKeeper();
    keeper.show(bytes(sdp(B)));
    const next = bytes(sdp('o=carrier 1234 9 IN IP4 198.51.100.5', 6002));
    assert.equal(keeper.show(next), next);
    assert.equal(keeper.origin?.version, 9n);
  });

  test('same origin without a higher version (after a rewrite): made strictly greater than the last shown', () => {
    const keeper = new OriginKeeper();
    keeper.show(bytes(sdp(B)));
    keeper.show(bytes(sdp(C, 7000))); // shown: version 6
    // B again (a transfer back), at its own version 6 with new content: must not reuse 6.
    const back = keeper.show(bytes(sdp('o=carrier 1234 6 IN IP4 198.51.100.5', 6010)));
    assert.equal(text(back), sdp('o=carrier 1234 7 IN IP4 198.51.100.5', 6010));
    const lower = keeper.show(bytes(sdp('o=carrier 1234 3 IN IP4 198.51.100.5', 6012)));
    assert.equal(text(lower), sdp('o=carrier 1234 8 IN IP4 198.51.100.5', 6012));
    assert.equal(keeper.origin?.version, 8n);
  });

  test('an SDP identical to the previous one received is shown identically (RFC 3264 §8: no change, no new version)', () => {
    const keeper = new OriginKeeper();
    keeper.show(bytes(sdp(B)));
    const once = keeper.show(bytes(sdp(C, 7000)));
    const again = keeper.show(bytes(sdp(C, 7000)));
    assert.deepEqual(again, once);
    assert.equal(keeper.origin?.version, 6n);
    const longer = keeper.show(bytes(sdp(C, 7000) + 'a=sendonly\r\n'));
    assert.equal(text(longer), sdp('o=carrier 1234 7 IN IP4 198.51.100.5', 7000) + 'a=sendonly\r\n', 'a longer SDP is not the same SDP');
    const shorter = keeper.show(bytes(sdp(C, 7000)));
    assert.equal(text(shorter), sdp('o=carrier 1234 8 IN IP4 198.51.100.5', 7000), 'nor is a shorter one');
    const refreshB = new OriginKeeper();
    const b = bytes(sdp(B));
    refreshB.show(b);
    assert.deepEqual(refreshB.show(bytes(sdp(B))), b);
    assert.equal(refreshB.origin?.version, 5n);
  });

  test('SDP without an o= line passes unchanged; the first with one is remembered', () => {
    const keeper = new OriginKeeper();
    const none = bytes('v=0\r\ns=-\r\nt=0 0\r\n');
    assert.equal(keeper.show(none), none);
    assert.equal(originOf(keeper), undefined);
    keeper.show(bytes(sdp(B)));
    assert.equal(keeper.show(none), none);
    assert.equal(keeper.origin?.version, 5n);
  });

  test('an origin differing only in username or only in address is another origin', () => {
    const keeper = new OriginKeeper();
    keeper.show(bytes(sdp(B)));
    const otherAddress = keeper.show(bytes(sdp('o=carrier 1234 50 IN IP4 198.51.100.6', 7000)));
    assert.equal(text(otherAddress), sdp('o=carrier 1234 6 IN IP4 198.51.100.5', 7000));
    const otherUser = keeper.show(bytes(sdp('o=carrier2 1234 51 IN IP4 198.51.100.5', 7002)));
    assert.equal(text(otherUser), sdp('o=carrier 1234 7 IN IP4 198.51.100.5', 7002));
    const otherSession = keeper.show(bytes(sdp('o=carrier 1235 52 IN IP4 198.51.100.5', 7004)));
    assert.equal(text(otherSession), sdp('o=carrier 1234 8 IN IP4 198.51.100.5', 7004));
  });

  test('a caller reusing its buffer: the next SDP is compared with a copy of the previous one', () => {
    const keeper = new OriginKeeper();
    keeper.show(bytes(sdp(B)));
    const buffer = bytes(sdp(C, 7000));
    keeper.show(buffer);
    buffer.set(bytes(sdp(C, 7002)));
    assert.equal(text(keeper.show(buffer)), sdp('o=carrier 1234 7 IN IP4 198.51.100.5', 7002));
    const first = new OriginKeeper();
    const reused = bytes(sdp(B));
    first.show(reused);
    reused.fill(0x20);
    assert.equal(text(first.show(bytes(sdp(B)))), sdp(B), 'a repeat of the first SDP is not read from the reused buffer');
  });

  test('a malformed o= line from the new far end is replaced by the origin shown', () => {
    const keeper = new OriginKeeper();
    keeper.show(bytes(sdp(B)));
    const out = keeper.show(bytes(sdp('o=broken', 7000)));
    assert.equal(text(out), sdp('o=carrier 1234 6 IN IP4 198.51.100.5', 7000));
  });

  test('huge versions across shows', () => {
    const keeper = new OriginKeeper();
    keeper.show(bytes(sdp('o=carrier 1234 99999999999999999999999999999999999998 IN IP4 198.51.100.5')));
    const out = keeper.show(bytes(sdp(C)));
    assert.match(text(out), /o=carrier 1234 99999999999999999999999999999999999999 IN/);
    const out2 = keeper.show(bytes(sdp(C, 7002)));
    assert.match(text(out2), /o=carrier 1234 100000000000000000000000000000000000000 IN/);
    assert.equal(keeper.origin?.version, 10n ** 38n);
  });
});
