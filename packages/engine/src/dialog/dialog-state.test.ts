// The dialog state of one leg (RFC 3261 §12), rule by rule, on parsed messages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createInDialogRequest, parseMessage, parseNameAddr, parseUri, SipRequest, SipResponse } from '@switchboard/sip';
import { DialogState, type DialogSnapshot } from './dialog-state.js';

const CONTACT = parseNameAddr('<sip:sb@10.0.0.1:5060>');

function message(lines: string[]): SipRequest | SipResponse {
  return parseMessage(Buffer.from([...lines, 'Content-Length: 0', '', ''].join('\r\n')));
}

function request(method: string, cseq: number, extra: string[] = []): SipRequest {
  const m = message([
    `${method} sip:bob@biloxi.example.com SIP/2.0`,
    'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK-1',
    'Max-Forwards: 70',
    'From: Alice <sip:alice@atlanta.example.com>;tag=alice-1',
    'To: Bob <sip:bob@biloxi.example.com>',
    'Call-ID: call-1@atlanta.example.com',
    `CSeq: ${cseq} ${method}`,
    ...extra,
  ]);
  assert.ok(m instanceof SipRequest);
  return m;
}

function response(status: number, extra: string[] = []): SipResponse {
  const m = message([
    `SIP/2.0 ${status} Whatever`,
    'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-2',
    'From: <sip:sb@switchboard.example>;tag=ours',
    'To: <sip:carol@carrier.example>;tag=carol-1',
    'Call-ID: call-2@switchboard.example',
    'CSeq: 1 INVITE',
    ...extra,
  ]);
  assert.ok(m instanceof SipResponse);
  return m;
}

function uas(): DialogState {
  // as the call actor builds it: our URI is the INVITE's To, the remote is its From
  return new DialogState('uas', 'call-1@atlanta.example.com', parseNameAddr('Bob <sip:bob@biloxi.example.com>'),
    parseNameAddr('Alice <sip:alice@atlanta.example.com>'), 'ours', parseUri('sip:bob@biloxi.example.com'));
}

function uac(): DialogState {
  return new DialogState('uac', 'call-2@switchboard.example', parseNameAddr('<sip:sb@switchboard.example>'),
    parseNameAddr('<sip:carol@carrier.example>'), 'ours', parseUri('sip:carol@carrier.example'));
}

const INVITE_ROUTES = ['Record-Route: <sip:p1.example;lr>', 'Record-Route: <sip:p2.example;lr>'];

describe('DialogState', () => {
  test('UAS from the INVITE (§12.1.1): remote tag and CSeq, Record-Route in order, Contact as target', () => {
    const d = uas();
    d.acceptInvite(request('INVITE', 7, [...INVITE_ROUTES, 'Contact: <sip:alice@192.0.2.4:5070>']));
    assert.equal(d.phase, 'early');
    assert.equal(d.remoteTag, 'alice-1');
    assert.equal(d.remoteCSeq, 7);
    assert.deepEqual(d.routeSet.map(String), ['<sip:p1.example;lr>', '<sip:p2.example;lr>']);
    assert.equal(d.remoteTarget.toString(), 'sip:alice@192.0.2.4:5070');
  });

  test('UAC from the 2xx (§12.1.2): remote tag, Record-Route reversed, Contact as target; a UAS learns nothing from responses', () => {
    const d = uac();
    d.learnFromResponse(response(200, [...INVITE_ROUTES, 'Contact: <sip:carol@198.51.100.9>']));
    assert.equal(d.remoteTag, 'carol-1');
    assert.deepEqual(d.routeSet.map(String), ['<sip:p2.example;lr>', '<sip:p1.example;lr>']);
    assert.equal(d.remoteTarget.toString(), 'sip:carol@198.51.100.9');
    const s = uas();
    s.learnFromResponse(response(200, [...INVITE_ROUTES, 'Contact: <sip:carol@198.51.100.9>']));
    assert.equal(s.remoteTag, undefined);
    assert.deepEqual(s.routeSet, []);
  });

  test('a 2xx without Contact keeps the target the provisional gave', () => {
    const d = uac();
    d.learnFromResponse(response(183, ['Contact: <sip:carol@198.51.100.9>']));
    d.learnFromResponse(response(200));
    assert.equal(d.remoteTarget.toString(), 'sip:carol@198.51.100.9');
  });

  test('CSeq out of order (§12.2.2): not above the last is refused; above raises it; ACK and a terminated dialog are not ordered', () => {
    const d = uas();
    d.acceptInvite(request('INVITE', 7));
    assert.equal(d.admitRequest(request('INFO', 7)), false);
    assert.equal(d.admitRequest(request('INFO', 6)), false);
    assert.equal(d.admitRequest(request('INFO', 8)), true);
    assert.equal(d.remoteCSeq, 8);
    assert.equal(d.admitRequest(request('ACK', 1)), true);
    assert.equal(d.remoteCSeq, 8);
    d.terminate();
    assert.equal(d.admitRequest(request('BYE', 2)), true);
    assert.equal(d.remoteCSeq, 8);
  });

  test('a UAC dialog takes the first CSeq the peer sends, whatever it is', () => {
    const d = uac();
    assert.equal(d.admitRequest(request('INFO', 1)), true);
    assert.equal(d.remoteCSeq, 1);
  });

  test('target refresh (§12.2.2): a re-INVITE with Contact replaces the target; other methods do not', () => {
    const d = uas();
    d.acceptInvite(request('INVITE', 1, ['Contact: <sip:alice@192.0.2.4>']));
    d.refreshTarget(request('INFO', 2, ['Contact: <sip:alice@192.0.2.99>']));
    assert.equal(d.remoteTarget.toString(), 'sip:alice@192.0.2.4');
    d.refreshTarget(request('INVITE', 3));
    assert.equal(d.remoteTarget.toString(), 'sip:alice@192.0.2.4');
    d.refreshTarget(request('INVITE', 4, ['Contact: <sip:alice@192.0.2.5>']));
    assert.equal(d.remoteTarget.toString(), 'sip:alice@192.0.2.5');
  });

  test('request context (§12.2.1.1): our tag on local, theirs on remote once known, target, routes, contact; CSeq counts up', () => {
    const d = uac();
    const early = d.requestContext(CONTACT);
    assert.equal(early.local.tag, 'ours');
    assert.equal(early.remote.tag, undefined);
    d.learnFromResponse(response(200, [...INVITE_ROUTES, 'Contact: <sip:carol@198.51.100.9>']));
    const ctx = d.requestContext(CONTACT);
    assert.equal(ctx.callId, 'call-2@switchboard.example');
    assert.equal(ctx.local.toString(), '<sip:sb@switchboard.example>;tag=ours');
    assert.equal(ctx.remote.toString(), '<sip:carol@carrier.example>;tag=carol-1');
    assert.equal(ctx.contact, CONTACT);
    assert.deepEqual([d.nextCSeq(), d.nextCSeq()], [1, 2]);
    const bye = createInDialogRequest(ctx, 'BYE', { via: 'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-3', cseq: d.localCSeq });
    assert.equal(bye.uri.toString(), 'sip:carol@198.51.100.9');
    assert.deepEqual(bye.headers.getAll('route'), ['<sip:p2.example;lr>', '<sip:p1.example;lr>']);
    assert.equal(bye.headers.cseq?.seq, 2);
  });

  test('phases: early, confirmed, terminated', () => {
    const d = uac();
    assert.equal(d.phase, 'early');
    d.confirm();
    assert.equal(d.phase, 'confirmed');
    d.terminate();
    assert.equal(d.phase, 'terminated');
  });

  test('Replaces (RFC 3891 §3) names the dialog by Call-ID and both tags; before the remote tag, ours decides', () => {
    const d = uac();
    assert.equal(d.isNamedBy('call-2@switchboard.example', ['ours', 'anything']), true);
    d.learnFromResponse(response(200));
    assert.equal(d.isNamedBy('call-2@switchboard.example', ['ours', 'carol-1']), true);
    assert.equal(d.isNamedBy('call-2@switchboard.example', ['ours', 'other']), false);
    assert.equal(d.isNamedBy('call-9@switchboard.example', ['ours', 'carol-1']), false);
  });

  test('JSON round trip: a snapshot in plain strings and numbers brings the same dialog back', () => {
    const d = uas();
    d.acceptInvite(request('INVITE', 7, [...INVITE_ROUTES, 'Contact: <sip:alice@192.0.2.4:5070>']));
    d.confirm();
    d.nextCSeq();
    const json: DialogSnapshot = JSON.parse(JSON.stringify(d));
    assert.deepEqual(json, {
      role: 'uas', phase: 'confirmed', callId: 'call-1@atlanta.example.com',
      localUri: '"Bob" <sip:bob@biloxi.example.com>', remoteUri: '"Alice" <sip:alice@atlanta.example.com>',
      localTag: 'ours', remoteTag: 'alice-1', localCSeq: 1, remoteCSeq: 7,
      routeSet: ['<sip:p1.example;lr>', '<sip:p2.example;lr>'], remoteTarget: 'sip:alice@192.0.2.4:5070',
    });
    const back = DialogState.fromJSON(json);
    assert.deepEqual(back.toJSON(), d.toJSON());
    assert.equal(back.requestContext(CONTACT).remote.toString(), d.requestContext(CONTACT).remote.toString());
  });
});
