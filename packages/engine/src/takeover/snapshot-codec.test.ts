import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeMap } from '@switchboard/wire';
import { EARLY_SNAPSHOT_VERSION, SNAPSHOT_VERSION, slotOfScope, snapshotKey, type CallSnapshot } from './call-snapshot.js';
import { inviteHead, inviteOfHead } from './early-invite.js';
import { parseMessage, SipRequest } from '@switchboard/sip';
import { decodeSnapshot, encodeSnapshot, SnapshotError } from './snapshot-codec.js';

const peer = { protocol: 'udp' as const, address: '127.0.0.1', port: 5071, nodeId: 't1', localAddress: '127.0.0.1', localPort: 5060 };

export const SAMPLE: CallSnapshot = {
  v: SNAPSHOT_VERSION,
  callId: '0123456789abcdef',
  slot: 0xabc,
  worker: 'w1',
  sipCallId: 'a1@pbx.example',
  trunk: 'acme',
  direction: 'termination',
  customerLeg: 'a',
  parties: { customer: '+12125550123', remote: '+14155550100', remoteAnonymous: false },
  pair: ['a', 'b1'],
  startedAt: 1_700_000_000_000,
  answeredAt: 1_700_000_002_000,
  holds: [{ key: 'trunk.acme', id: 3 }],
  ingress: peer,
  legs: [{
    name: 'a', role: 'uas', scope: 'abc01234',
    dialog: {
      role: 'uas', phase: 'confirmed', callId: 'a1@pbx.example', localUri: '<sip:+14155550100@switchboard.example>', remoteUri: '"Desk" <sip:+12125550123@pbx.example>',
      localTag: 'w1.abc0123400112233.0123456789ab', remoteTag: 'fa1', localCSeq: 0, remoteCSeq: 1, routeSet: ['<sip:proxy.example;lr>'], remoteTarget: 'sip:pbx@127.0.0.1:5071',
    },
    cseqReservation: 32, peer: { ...peer, connectionId: 'c7' },
    session: { seconds: 1800, refresher: 'uac', refreshedAt: 1_700_000_002_000 },
    transactions: [{ method: 'INVITE', cseq: 2, side: 'inbound' }],
  }],
  sessions: [{ leg: 'a', body: new Uint8Array(Buffer.from('v=0\r\n')), contentType: 'application/sdp' }],
  transfers: [{ id: 't1', transferor: 'a', target: '+14155550199', kind: 'pstn', billable: true, outcome: 'failed', status: 486 }],
  transfer: { id: 't2', transferor: 'a', referCSeq: 3 },
  records: [{ type: 'started', at: 1_700_000_000_000, sipCallId: 'a1@pbx.example' }, { type: 'answered', leg: 'b1', at: 1_700_000_002_000 }],
};

describe('call snapshot codec', () => {
  test('round trip: what is decoded is what was encoded', () => {
    const decoded = decodeSnapshot(encodeSnapshot(SAMPLE));
    assert.deepEqual({ ...decoded, sessions: [] }, { ...SAMPLE, sessions: [] });
    assert.equal(Buffer.from(decoded.sessions[0]?.body ?? []).toString(), 'v=0\r\n');
  });

  test('a leg over TLS: its peer\'s protocol, name to verify and PEM files survive the round trip', () => {
    const tlsPeer = { ...peer, protocol: 'tls' as const, connectionId: 'c9', serverName: 'sip.carrier.example', tlsFiles: { caFile: '/etc/tls/ca.pem', certFile: '/etc/tls/c.crt', keyFile: '/etc/tls/c.key' } };
    const legs = [{ ...SAMPLE.legs[0]!, peer: tlsPeer }];
    const decoded = decodeSnapshot(encodeSnapshot({ ...SAMPLE, ingress: tlsPeer, legs }));
    assert.deepEqual(decoded.legs[0]?.peer, tlsPeer);
    assert.deepEqual(decoded.ingress, tlsPeer);
  });

  test('absent optional fields stay absent', () => {
    const { trunk: _t, transfer: _r, customerLeg: _c, ...plain } = SAMPLE;
    const decoded = decodeSnapshot(encodeSnapshot({ ...plain, pair: ['a', undefined] }));
    assert.equal('trunk' in decoded, false);
    assert.equal('transfer' in decoded, false);
    assert.deepEqual(decoded.pair, ['a', undefined]);
  });

  test('the version field is written', () => {
    const raw = encodeMap({ ...SAMPLE });
    assert.deepEqual(encodeSnapshot(SAMPLE), raw);
  });

  for (const v of [0, 3, undefined, '1']) {
    test(`version ${JSON.stringify(v)} is refused, never guessed`, () => {
      assert.throws(() => decodeSnapshot(encodeMap({ ...SAMPLE, v })), (err: unknown) => err instanceof SnapshotError && err.code === 'version' && /reads 1 and 2 only/.test(err.message));
    });
  }

  test('an early record (v2): no answer time, its legs\' INVITE heads without SDP; a v1 snapshot still reads as before', () => {
    const decoded = decodeSnapshot(encodeSnapshot(EARLY));
    assert.equal(decoded.v, EARLY_SNAPSHOT_VERSION);
    assert.equal('answeredAt' in decoded, false);
    const invite = inviteOfHead(decoded.legs[0]?.invite?.head ?? new Uint8Array());
    assert.equal(invite.headers.getAll('Via').length, 2, 'the caller\'s Via lines as received');
    assert.equal(invite.headers.cseq?.seq, 7);
    assert.equal(invite.body.length, 0, 'no SDP');
    assert.equal(invite.headers.get('content-type'), undefined);
    assert.equal(decoded.legs[0]?.invite?.provisionalSeen, true);
    assert.equal(decoded.legs[1]?.invite?.provisionalSeen, false);
    // v1 stays v1: a confirmed snapshot of this release is read by the release before it, and back
    assert.equal(decodeSnapshot(encodeSnapshot(SAMPLE)).v, 1);
    const { answeredAt: _a, ...unanswered } = SAMPLE;
    assert.throws(() => decodeSnapshot(encodeMap(unanswered)), /snapshot.answeredAt: expected a number/, 'a v1 snapshot must have its answer time');
  });

  test('an early record\'s INVITE head that is no INVITE is refused, naming it', () => {
    const bad = { ...EARLY, legs: [{ ...EARLY.legs[0], invite: { head: new Uint8Array(Buffer.from('SIP/2.0 200 OK\r\n\r\n')), provisionalSeen: true } }] };
    assert.throws(() => decodeSnapshot(encodeMap(bad)), (err: unknown) => err instanceof SnapshotError && err.code === 'malformed' && /snapshot.legs.0.invite.head: not an INVITE/.test(err.message));
  });

  test('a missing or mistyped field is refused, naming it', () => {
    const { legs: _l, ...noLegs } = SAMPLE;
    assert.throws(() => decodeSnapshot(encodeMap(noLegs)), /malformed: snapshot.legs: expected a list/);
    const badLeg = { ...SAMPLE, legs: [{ ...SAMPLE.legs[0], cseqReservation: 'x' }] };
    assert.throws(() => decodeSnapshot(encodeMap(badLeg)), /snapshot.legs.0.cseqReservation: expected a number/);
    assert.throws(() => decodeSnapshot(encodeMap({ ...SAMPLE, pair: ['a', 'zz'] })), /snapshot.pair.1: expected a leg name/);
    assert.throws(() => decodeSnapshot(encodeMap({ ...SAMPLE, records: [{ type: 'exploded', at: 1 }] })), /unknown record event/);
  });

  test('bytes that are not msgpack are undecodable', () => {
    assert.throws(() => decodeSnapshot(new Uint8Array([0x85])), (err: unknown) => err instanceof SnapshotError && err.code === 'undecodable');
    assert.throws(() => decodeSnapshot(new Uint8Array([0x93, 1, 2, 3])), (err: unknown) => err instanceof SnapshotError && err.code === 'malformed');
  });

  test('keys and slots', () => {
    assert.equal(snapshotKey(12, 'abc'), '12.abc');
    assert.equal(slotOfScope('abc01234'), 0xabc);
    assert.equal(slotOfScope('00f12345678'), 15);
  });
});

const CALLER_INVITE = parseMessage(Buffer.from([
  'INVITE sip:+14155550100@switchboard.example SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bK-pbx-1;received=127.0.0.1;rport=5071',
  'Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-phone-1',
  'Max-Forwards: 69',
  'From: "Desk" <sip:+12125550123@pbx.example>;tag=fa1',
  'To: <sip:+14155550100@switchboard.example>',
  'Call-ID: a1@pbx.example',
  'CSeq: 7 INVITE',
  'Contact: <sip:pbx@127.0.0.1:5071>',
  'Content-Type: application/sdp',
  'Content-Length: 5',
  '',
  'v=0\r\n',
].join('\r\n')), { framing: 'datagram' }) as SipRequest;

const EARLY: CallSnapshot = (() => {
  const { answeredAt: _a, ...rest } = SAMPLE;
  const a = SAMPLE.legs[0];
  if (a === undefined) throw new Error('sample without legs');
  return {
    ...rest, v: EARLY_SNAPSHOT_VERSION, sessions: [], transfers: [],
    legs: [
      { ...a, dialog: { ...a.dialog, phase: 'early' as const }, transactions: [], invite: { head: inviteHead(CALLER_INVITE), provisionalSeen: true } },
      { ...a, name: 'b1' as const, role: 'uac' as const, scope: 'abc05678', dialog: { ...a.dialog, role: 'uac' as const, phase: 'early' as const }, transactions: [], invite: { head: inviteHead(CALLER_INVITE), provisionalSeen: false } },
    ],
  };
})();
