// Transaction matching keys (RFC 3261 §17.1.3, §17.2.3, §9.2 and the RFC 2543 fallback).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createAck, createCancel, Headers, parseUri, SipRequest } from '@switchboard/sip';
import { request, response } from './fixtures.js';
import {
  cancelTargetKey, clientResponseKey, clientTransactionKey, hasMagicCookie, serverAckKey, serverTransactionKey,
} from './transaction-key.js';

const UAC_VIA = 'SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK-client-1';

describe('client transaction keys (§17.1.3)', () => {
  test('a response matches the request that carried its top Via branch and its CSeq method', () => {
    const invite = request();
    const key = clientTransactionKey(invite);
    assert.ok(key !== undefined);
    for (const status of [100, 180, 200, 486]) assert.equal(clientResponseKey(response(invite, status)), key);
  });

  test('another branch does not match', () => {
    const other = request({ via: ['SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK-client-2'] });
    assert.notEqual(clientResponseKey(response(other, 200)), clientTransactionKey(request()));
  });

  test('the same branch with another CSeq method does not match: CANCEL has its own transaction', () => {
    const invite = request();
    const cancel = createCancel(invite);
    assert.equal(cancel.headers.topVia?.branch, invite.headers.topVia?.branch);
    const cancelOk = response(cancel, 200);
    assert.notEqual(clientResponseKey(cancelOk), clientTransactionKey(invite));
    assert.equal(clientResponseKey(cancelOk), clientTransactionKey(cancel));
    assert.notEqual(clientResponseKey(response(invite, 487)), clientTransactionKey(cancel));
  });

  test('the branch compares case-insensitively (§7.3.1)', () => {
    const upper = request({ via: ['SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK-CLIENT-1'] });
    assert.equal(clientResponseKey(response(upper, 200)), clientTransactionKey(request()));
  });

  test('no key without a branch, a Via or a readable CSeq', () => {
    const uri = parseUri('sip:bob@biloxi.example.com');
    assert.equal(clientTransactionKey(new SipRequest({ method: 'OPTIONS', uri })), undefined);
    assert.equal(clientTransactionKey(request({ via: ['SIP/2.0/UDP pc33.atlanta.example.com'] })), undefined);
    const bad = new SipRequest({ method: 'OPTIONS', uri, headers: new Headers([['Via', 'not a via']]) });
    assert.equal(clientTransactionKey(bad), undefined);
    const res = response(request(), 200);
    res.headers.set('CSeq', 'nonsense');
    assert.equal(clientResponseKey(res), undefined);
  });
});

describe('server transaction keys (§17.2.3, magic cookie)', () => {
  const VIA = ['SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK-proxy-1;received=192.0.2.7', UAC_VIA];

  test('a retransmitted request matches; the key needs the cookie', () => {
    const key = serverTransactionKey(request({ via: VIA }));
    assert.ok(key !== undefined);
    assert.equal(serverTransactionKey(request({ via: VIA })), key);
    assert.ok(hasMagicCookie('z9hG4bK-proxy-1'));
    assert.ok(!hasMagicCookie('z9hg4bk-proxy-1'), 'the cookie is written exactly');
    assert.ok(!hasMagicCookie(undefined));
  });

  test('another branch, another sent-by or another method does not match', () => {
    const key = serverTransactionKey(request({ via: VIA }));
    assert.notEqual(serverTransactionKey(request({ via: ['SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK-proxy-2'] })), key);
    assert.notEqual(serverTransactionKey(request({ via: ['SIP/2.0/UDP proxy.example.com:5070;branch=z9hG4bK-proxy-1'] })), key);
    assert.notEqual(serverTransactionKey(request({ via: ['SIP/2.0/UDP proxy.example.com;branch=z9hG4bK-proxy-1'] })), key, 'no port is not 5060');
    assert.notEqual(serverTransactionKey(request({ via: ['SIP/2.0/UDP other.example.com:5060;branch=z9hG4bK-proxy-1'] })), key);
    assert.notEqual(serverTransactionKey(request({ via: VIA, method: 'BYE' })), key);
    assert.equal(serverTransactionKey(request({ via: ['SIP/2.0/UDP PROXY.example.com:5060;branch=z9hG4bK-proxy-1'] })), key, 'hosts compare case-insensitively');
    assert.equal(serverTransactionKey(request({ via: ['SIP/2.0/TCP proxy.example.com:5060;branch=z9hG4bK-proxy-1;rport'] })), key, 'only branch, sent-by and method count');
  });

  test('CANCEL has its own transaction; cancelTargetKey finds the INVITE it cancels (§9.2)', () => {
    const invite = request({ via: VIA });
    const cancel = createCancel(invite);
    assert.notEqual(serverTransactionKey(cancel), serverTransactionKey(invite));
    assert.equal(cancelTargetKey(cancel), serverTransactionKey(invite));
    assert.equal(cancelTargetKey(cancel, 'BYE'), serverTransactionKey(request({ via: VIA, method: 'BYE' })));
    const stray = createCancel(request({ via: ['SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK-proxy-9'] }));
    assert.notEqual(cancelTargetKey(stray), serverTransactionKey(invite));
  });

  test('the ACK of a non-2xx matches the INVITE server transaction', () => {
    const invite = request({ via: [UAC_VIA] });
    const busy = response(invite, 486);
    const ack = createAck(invite, busy);
    assert.equal(serverTransactionKey(ack), serverTransactionKey(invite));
    assert.equal(serverAckKey(invite, busy), serverTransactionKey(invite));
  });

  test('the ACK of a 2xx (a new branch, §13.2.2.4) does not', () => {
    const invite = request({ via: [UAC_VIA] });
    const ack = request({ method: 'ACK', toTag: 'uas-tag-1', via: ['SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK-client-ack'] });
    assert.notEqual(serverTransactionKey(ack), serverTransactionKey(invite));
  });
});

describe('server transaction keys (§17.2.3, RFC 2543 fallback)', () => {
  const OLD_VIA = ['SIP/2.0/UDP old.example.com:5060;received=192.0.2.9;rport=5062'];
  const invite = (extra: Parameters<typeof request>[0] = {}) => request({ via: OLD_VIA, ...extra });

  test('a retransmitted INVITE matches, with or without a cookie-less branch; Via parameters in any order', () => {
    const key = serverTransactionKey(invite());
    assert.ok(key !== undefined);
    assert.equal(serverTransactionKey(invite()), key);
    assert.equal(serverTransactionKey(invite({ via: ['SIP/2.0/udp OLD.example.com:5060;RPORT=5062;received=192.0.2.9'] })), key);
    const branched = ['SIP/2.0/UDP old.example.com:5060;branch=1234'];
    assert.equal(serverTransactionKey(invite({ via: branched })), serverTransactionKey(invite({ via: branched })));
    assert.notEqual(serverTransactionKey(invite({ via: branched })), key);
  });

  test('Request-URI, To tag, From tag, Call-ID, CSeq and top Via all count', () => {
    const key = serverTransactionKey(invite());
    for (const other of [
      invite({ uri: 'sip:carol@biloxi.example.com' }),
      invite({ toTag: 'x' }),
      invite({ fromTag: 'other' }),
      invite({ fromTag: '' }),
      invite({ callId: 'another@old.example.com' }),
      invite({ cseq: 314160 }),
      invite({ method: 'OPTIONS' }),
      invite({ via: ['SIP/2.0/UDP old.example.com:5060;received=192.0.2.10;rport=5062'] }),
      invite({ via: ['SIP/2.0/TCP old.example.com:5060;received=192.0.2.9;rport=5062'] }),
    ]) {
      assert.notEqual(serverTransactionKey(other), key);
    }
  });

  test('the ACK matches once the final response gave the To tag (serverAckKey)', () => {
    const inv = invite();
    const busy = response(inv, 486, 'uas-tag-7');
    const ack = createAck(inv, busy);
    assert.equal(ack.headers.to?.tag, 'uas-tag-7');
    assert.notEqual(serverTransactionKey(ack), serverTransactionKey(inv), 'the INVITE had no To tag');
    assert.equal(serverTransactionKey(ack), serverAckKey(inv, busy));
    const foreign = createAck(inv, response(inv, 486, 'someone-else'));
    assert.notEqual(serverTransactionKey(foreign), serverAckKey(inv, busy));
  });

  test('a re-INVITE (To tag already there) is found by its ACK under its own key', () => {
    const reinvite = invite({ toTag: 'dialog-tag' });
    const busy = response(reinvite, 491);
    assert.equal(serverAckKey(reinvite, busy), serverTransactionKey(reinvite));
    assert.equal(serverTransactionKey(createAck(reinvite, busy)), serverTransactionKey(reinvite));
  });

  test('CANCEL: its own key, and cancelTargetKey finds the INVITE', () => {
    const inv = invite();
    const cancel = createCancel(inv);
    assert.notEqual(serverTransactionKey(cancel), serverTransactionKey(inv));
    assert.equal(cancelTargetKey(cancel), serverTransactionKey(inv));
  });

  test('never equal to a magic-cookie key; no key without the fields it needs', () => {
    assert.notEqual(serverTransactionKey(invite()), serverTransactionKey(request()));
    const inv = invite();
    inv.headers.remove('From');
    assert.equal(serverTransactionKey(inv), undefined);
    const bad = invite();
    bad.headers.set('CSeq', 'x y z');
    assert.equal(serverTransactionKey(bad), undefined);
    assert.equal(serverTransactionKey(new SipRequest({ method: 'INVITE', uri: parseUri('sip:a@b.example') })), undefined);
  });
});
