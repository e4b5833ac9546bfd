// Unit tests of the message builders against RFC 3261 §8.1.1, §8.2.6, §9.1, §12.2.1.1, §17.1.1.3.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createAck, createCancel, createInDialogRequest, createRequest, createResponse, randomToken, type DialogRequestContext } from './builders.js';
import { NameAddr, parseNameAddr } from './name-addr.js';
import { SipRequest, SipResponse } from './message.js';
import { parseMessage, validateMessage } from './parser.js';
import { serializeMessage } from './serializer.js';
import { parseUri, SipUri } from './uri.js';
import { parseVia } from './via.js';

const CRLF = '\r\n';

function parseRequest(lines: readonly string[], body = ''): SipRequest {
  const m = parseMessage(Buffer.from(lines.join(CRLF) + CRLF + CRLF + body));
  assert.ok(m instanceof SipRequest);
  return m;
}

function parseResponse(lines: readonly string[]): SipResponse {
  const m = parseMessage(Buffer.from(lines.join(CRLF) + CRLF + CRLF));
  assert.ok(m instanceof SipResponse);
  return m;
}

/** An INVITE as received by a UAS: two Vias (one line with two values, one more line), Record-Route, Route, Timestamp. */
function invite(method = 'INVITE', extra: readonly string[] = []): SipRequest {
  return parseRequest([
    `${method} sip:bob@biloxi.example.com SIP/2.0`,
    'Via: SIP/2.0/UDP proxy2.example;branch=z9hG4bKp2;received=192.0.2.3, SIP/2.0/UDP proxy1.example;branch=z9hG4bKp1',
    'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
    'Max-Forwards: 68',
    'Record-Route: <sip:proxy2.example;lr>',
    'Record-Route: <sip:proxy1.example;lr>',
    'Route: <sip:next.example;lr>',
    'To: Bob <sip:bob@biloxi.example.com>',
    'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
    `CSeq: 314159 ${method}`,
    'Contact: <sip:alice@pc33.atlanta.example.com>',
    'Timestamp: 54.3 0.2',
    ...extra,
    'Content-Length: 0',
  ]);
}

/** An INVITE as sent by a UAC (a single Via), with a preloaded Route. */
function uacInvite(): SipRequest {
  return parseRequest([
    'INVITE sip:bob@biloxi.example.com;transport=udp SIP/2.0',
    'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport',
    'Max-Forwards: 70',
    'Route: <sip:p1.example;lr>, <sip:p2.example;lr>',
    'To: Bob <sip:bob@biloxi.example.com>',
    'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
    'Call-ID: 3848276298220188511@atlanta.example.com',
    'CSeq: 2 INVITE',
    'Contact: <sip:alice@pc33.atlanta.example.com>',
    'Content-Type: application/sdp',
    'Content-Length: 4',
  ], 'v=0\n');
}

describe('createResponse (RFC 3261 §8.2.6)', () => {
  test('copies every Via value, in order', () => {
    const res = createResponse(invite(), 180);
    assert.deepEqual(res.headers.via.map((v) => v.branch), ['z9hG4bKp2', 'z9hG4bKp1', 'z9hG4bK776asdhds']);
    assert.deepEqual(res.headers.getAll('Via'), invite().headers.getAll('Via'));
  });

  test('copies From, Call-ID and CSeq verbatim', () => {
    const req = invite();
    const res = createResponse(req, 486);
    assert.equal(res.headers.get('From'), req.headers.get('From'));
    assert.equal(res.headers.get('Call-ID'), req.headers.get('Call-ID'));
    assert.equal(res.headers.get('CSeq'), '314159 INVITE');
  });

  test('adds the given To tag when the request has none', () => {
    const to = createResponse(invite(), 200, { toTag: 'a6c85cf' }).headers.to;
    assert.equal(to?.tag, 'a6c85cf');
    assert.equal(to?.displayName, 'Bob');
    assert.equal((to?.uri as SipUri).user, 'bob');
  });

  test('adds a random To tag when none is given', () => {
    const tag = createResponse(invite(), 404).headers.to?.tag;
    assert.ok(tag !== undefined && tag.length >= 8, String(tag));
  });

  test('adds no To tag to a 100 Trying', () => {
    const res = createResponse(invite(), 100, { toTag: 'x' });
    assert.equal(res.headers.to?.tag, undefined);
    assert.equal(res.headers.get('To'), 'Bob <sip:bob@biloxi.example.com>');
  });

  test('keeps an existing To tag', () => {
    const req = invite('INVITE', []);
    req.headers.set('To', 'Bob <sip:bob@biloxi.example.com>;tag=existing');
    const res = createResponse(req, 200, { toTag: 'other' });
    assert.equal(res.headers.to?.tag, 'existing');
    assert.equal(res.headers.get('To'), 'Bob <sip:bob@biloxi.example.com>;tag=existing');
  });

  test('echoes Timestamp on 100 Trying', () => {
    assert.equal(createResponse(invite(), 100).headers.get('Timestamp'), '54.3 0.2');
  });

  test('does not echo Timestamp on other responses', () => {
    assert.equal(createResponse(invite(), 180).headers.has('Timestamp'), false);
    assert.equal(createResponse(invite(), 200).headers.has('Timestamp'), false);
  });

  test('copies Record-Route, in order, on 1xx (above 100) and 2xx to INVITE', () => {
    for (const status of [180, 183, 200, 299]) {
      const rr = createResponse(invite(), status).headers.recordRoute;
      assert.deepEqual(rr.map((r) => (r.uri as SipUri).host), ['proxy2.example', 'proxy1.example'], String(status));
    }
  });

  test('does not copy Record-Route on 100 or on 3xx-6xx', () => {
    for (const status of [100, 302, 486, 500, 603]) {
      assert.equal(createResponse(invite(), status).headers.has('Record-Route'), false, String(status));
    }
  });

  test('does not copy Record-Route on responses to requests that cannot create a dialog', () => {
    for (const method of ['OPTIONS', 'BYE', 'MESSAGE', 'REGISTER', 'INFO']) {
      assert.equal(createResponse(invite(method), 200).headers.has('Record-Route'), false, method);
    }
  });

  test('copies Record-Route on 2xx to SUBSCRIBE, which creates a dialog (RFC 6665 §4.1.3)', () => {
    assert.equal(createResponse(invite('SUBSCRIBE'), 200).headers.recordRoute.length, 2);
  });

  test('does not copy Route, Max-Forwards or Contact', () => {
    const h = createResponse(invite(), 200).headers;
    assert.equal(h.has('Route'), false);
    assert.equal(h.has('Max-Forwards'), false);
    assert.equal(h.has('Contact'), false);
  });

  test('uses the default reason, or the one given', () => {
    assert.equal(createResponse(invite(), 486).reason, 'Busy Here');
    assert.equal(createResponse(invite(), 486, { reason: 'Line In Use' }).reason, 'Line In Use');
  });

  test('adds extra headers, and a body with its Content-Type', () => {
    const res = createResponse(invite(), 200, {
      headers: [['Contact', '<sip:bob@192.0.2.4>'], ['Supported', 'timer']],
      body: Buffer.from('v=0\r\n'),
      contentType: 'application/sdp',
    });
    assert.equal(res.headers.contact.length, 1);
    assert.deepEqual(res.headers.supported, ['timer']);
    assert.equal(res.headers.contentType?.value, 'application/sdp');
    assert.match(serializeMessage(res).toString(), /Content-Length: 5\r\n\r\nv=0\r\n$/);
  });

  test('inherits the header encoding of the request', () => {
    const req = parseMessage(Buffer.from([
      'OPTIONS sip:b.example SIP/2.0', 'Via: SIP/2.0/UDP h.example;branch=z9hG4bK1',
      'From: "Ren\xe9e" <sip:r@h.example>;tag=1', 'To: <sip:b.example>', 'Call-ID: l1@h', 'CSeq: 1 OPTIONS', 'Content-Length: 0',
    ].join(CRLF) + CRLF + CRLF, 'latin1')) as SipRequest;
    const res = createResponse(req, 200, { toTag: 't' });
    assert.equal(res.headerEncoding, 'latin1');
    assert.ok(serializeMessage(res).includes(Buffer.from('From: "Ren\xe9e" <sip:r@h.example>;tag=1\r\n', 'latin1')));
  });

  test('the response is valid and survives a round trip', () => {
    const res = createResponse(invite(), 200, { toTag: 'abc' });
    assert.equal(validateMessage(res), undefined);
    const again = parseMessage(serializeMessage(res));
    assert.ok(again instanceof SipResponse);
    assert.equal(again.status, 200);
    assert.equal(again.headers.to?.tag, 'abc');
  });
});

describe('createAck for a non-2xx final response (RFC 3261 §17.1.1.3)', () => {
  const req = uacInvite();
  const res = createResponse(req, 486, { toTag: 'busy-tag' });
  const ack = createAck(req, res);

  test('is an ACK for the INVITE Request-URI', () => {
    assert.equal(ack.method, 'ACK');
    assert.equal(ack.uri, req.uri);
    assert.equal(ack.startLine, 'ACK sip:bob@biloxi.example.com;transport=udp SIP/2.0');
  });

  test('carries only the top Via of the INVITE, same branch', () => {
    assert.equal(ack.headers.via.length, 1);
    assert.equal(ack.headers.topVia?.branch, 'z9hG4bK74bf9');
    assert.deepEqual(ack.headers.topVia, req.headers.topVia);
  });

  test('carries only the top Via when the INVITE has several', () => {
    const many = invite();
    const a = createAck(many, createResponse(many, 500));
    assert.deepEqual(a.headers.via.map((v) => v.branch), ['z9hG4bKp2']);
  });

  test('takes To from the response, tag included', () => {
    assert.equal(ack.headers.to?.tag, 'busy-tag');
    assert.equal(ack.headers.get('To'), res.headers.get('To'));
  });

  test('copies From and Call-ID from the INVITE', () => {
    assert.equal(ack.headers.get('From'), req.headers.get('From'));
    assert.equal(ack.headers.callId, '3848276298220188511@atlanta.example.com');
  });

  test('has the CSeq number of the INVITE and the method ACK', () => {
    assert.equal(ack.headers.cseq?.seq, 2);
    assert.equal(ack.headers.cseq?.method, 'ACK');
  });

  test('copies the Route of the INVITE', () => {
    assert.deepEqual(ack.headers.getAll('Route'), ['<sip:p1.example;lr>, <sip:p2.example;lr>']);
    assert.equal(ack.headers.route.length, 2);
  });

  test('has Max-Forwards, no body and no Contact', () => {
    assert.equal(ack.headers.maxForwards, 70);
    assert.equal(ack.body.length, 0);
    assert.equal(ack.headers.has('Contact'), false);
    assert.equal(ack.headers.has('Content-Type'), false);
  });

  test('is valid and survives a round trip', () => {
    assert.equal(validateMessage(ack), undefined);
    const again = parseMessage(serializeMessage(ack));
    assert.equal(validateMessage(again), undefined);
    assert.equal(again.headers.topVia?.branch, 'z9hG4bK74bf9');
  });
});

describe('createCancel (RFC 3261 §9.1)', () => {
  const req = uacInvite();
  const cancel = createCancel(req);

  test('is a CANCEL for the same Request-URI', () => {
    assert.equal(cancel.method, 'CANCEL');
    assert.equal(cancel.uri.toString(), req.uri.toString());
  });

  test('has one Via equal to the top Via of the request', () => {
    assert.equal(cancel.headers.via.length, 1);
    assert.deepEqual(cancel.headers.topVia, req.headers.topVia);
  });

  test('copies Call-ID, To and From (tags included) verbatim', () => {
    assert.equal(cancel.headers.get('Call-ID'), req.headers.get('Call-ID'));
    assert.equal(cancel.headers.get('To'), req.headers.get('To'));
    assert.equal(cancel.headers.get('From'), req.headers.get('From'));
    assert.equal(cancel.headers.from?.tag, '9fxced76sl');
  });

  test('has the CSeq number of the request and the method CANCEL', () => {
    assert.equal(cancel.headers.cseq?.seq, 2);
    assert.equal(cancel.headers.cseq?.method, 'CANCEL');
  });

  test('copies the Route of the request', () => {
    assert.deepEqual(cancel.headers.route.map((r) => (r.uri as SipUri).host), ['p1.example', 'p2.example']);
  });

  test('has no body', () => {
    assert.equal(cancel.body.length, 0);
    assert.equal(cancel.headers.has('Content-Type'), false);
  });

  test('is valid', () => {
    assert.equal(validateMessage(cancel), undefined);
  });
});

describe('createRequest (RFC 3261 §8.1.1)', () => {
  const from = parseNameAddr('"Alice" <sip:alice@atlanta.example.com>;tag=88sja8x');
  const to = parseNameAddr('<sip:bob@biloxi.example.com>');
  const base = {
    method: 'INVITE',
    uri: parseUri('sip:bob@biloxi.example.com'),
    via: 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8',
    from, to, callId: 'a84b4c76e66710@pc33', cseq: 1,
  };

  test('writes the mandatory headers in the conventional order', () => {
    const r = createRequest(base);
    assert.deepEqual([...r.headers].map(([n]) => n), ['Via', 'Max-Forwards', 'From', 'To', 'Call-ID', 'CSeq']);
    assert.equal(r.method, 'INVITE');
    assert.equal(r.headers.maxForwards, 70);
    assert.equal(r.headers.cseq?.toString(), '1 INVITE');
    assert.equal(r.headers.from?.tag, '88sja8x');
    assert.equal(r.headers.callId, 'a84b4c76e66710@pc33');
    assert.equal(validateMessage(r), undefined);
  });

  test('accepts a Via object and a Max-Forwards value', () => {
    const r = createRequest({ ...base, via: parseVia('SIP/2.0/TCP h.example;branch=z9hG4bKobj'), maxForwards: 10 });
    assert.equal(r.headers.topVia?.transport, 'TCP');
    assert.equal(r.headers.maxForwards, 10);
  });

  test('adds Route (in order, after Max-Forwards), Contact and extra headers', () => {
    const r = createRequest({
      ...base,
      route: [parseNameAddr('<sip:p1.example;lr>'), parseNameAddr('<sip:p2.example;lr>')],
      contact: parseNameAddr('<sip:alice@192.0.2.1>'),
      headers: [['Supported', 'timer'], ['Subject', 'hi']],
    });
    assert.deepEqual([...r.headers].map(([n]) => n), ['Via', 'Max-Forwards', 'Route', 'Route', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Supported', 'Subject']);
    assert.deepEqual(r.headers.route.map((x) => (x.uri as SipUri).host), ['p1.example', 'p2.example']);
  });

  test('a body comes with its Content-Type and the serializer adds Content-Length', () => {
    const r = createRequest({ ...base, body: Buffer.from('v=0\r\n'), contentType: 'application/sdp' });
    assert.equal(r.headers.get('Content-Type'), 'application/sdp');
    const again = parseMessage(serializeMessage(r), { framing: 'stream' });
    assert.equal(Buffer.from(again.body).toString(), 'v=0\r\n');
    assert.equal(validateMessage(again), undefined);
  });
});

describe('createInDialogRequest (RFC 3261 §12.2.1.1)', () => {
  const dialog = (routeSet: string[]): DialogRequestContext => ({
    callId: 'dlg@a.example',
    local: parseNameAddr('<sip:alice@atlanta.example.com>;tag=local1'),
    remote: parseNameAddr('<sip:bob@biloxi.example.com>;tag=remote1'),
    remoteTarget: parseUri('sip:bob@192.0.2.4:5060'),
    routeSet: routeSet.map((r) => parseNameAddr(r, true)),
    contact: parseNameAddr('<sip:alice@pc33.atlanta.example.com>'),
  });
  const via = 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKdlg';

  test('loose routing: the remote target is the Request-URI and the route set is Route, in order', () => {
    const r = createInDialogRequest(dialog(['<sip:p1.example;lr>', '<sip:p2.example;lr>']), 'BYE', { via, cseq: 2 });
    assert.equal(r.uri.toString(), 'sip:bob@192.0.2.4:5060');
    assert.deepEqual(r.headers.getAll('Route'), ['<sip:p1.example;lr>', '<sip:p2.example;lr>']);
  });

  test('dialog identifiers, CSeq and Contact come from the dialog', () => {
    const r = createInDialogRequest(dialog([]), 'INFO', { via, cseq: 7 });
    assert.equal(r.method, 'INFO');
    assert.equal(r.headers.from?.tag, 'local1');
    assert.equal(r.headers.to?.tag, 'remote1');
    assert.equal(r.headers.callId, 'dlg@a.example');
    assert.equal(r.headers.cseq?.toString(), '7 INFO');
    // INFO does not refresh the target: no Contact (RFC 3261 Table 3)
    assert.equal(r.headers.has('Contact'), false);
    assert.equal(validateMessage(r), undefined);
  });

  test('Contact only on target refresh and dialog methods (INVITE, UPDATE, SUBSCRIBE, NOTIFY, REFER)', () => {
    for (const method of ['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER']) {
      const r = createInDialogRequest(dialog([]), method, { via, cseq: 7 });
      assert.equal((r.headers.contact[0]?.uri as SipUri).host, 'pc33.atlanta.example.com', method);
    }
    for (const method of ['BYE', 'INFO', 'OPTIONS', 'ACK']) {
      assert.equal(createInDialogRequest(dialog([]), method, { via, cseq: 7 }).headers.has('Contact'), false, method);
    }
  });

  test('an empty route set: no Route, the remote target is the Request-URI', () => {
    const r = createInDialogRequest(dialog([]), 'BYE', { via, cseq: 2 });
    assert.equal(r.headers.has('Route'), false);
    assert.equal(r.uri.toString(), 'sip:bob@192.0.2.4:5060');
  });

  test('strict routing: the first route becomes the Request-URI and the remote target goes last in Route', () => {
    const r = createInDialogRequest(dialog(['<sip:strict.example;transport=udp>', '<sip:p2.example;lr>']), 'BYE', { via, cseq: 2 });
    assert.equal(r.uri.toString(), 'sip:strict.example;transport=udp');
    assert.deepEqual(r.headers.route.map((x) => x.uri.toString()), ['sip:p2.example;lr', 'sip:bob@192.0.2.4:5060']);
  });

  test('strict routing with a single route: Route holds only the remote target', () => {
    const r = createInDialogRequest(dialog(['<sip:strict.example>']), 'BYE', { via, cseq: 2 });
    assert.equal(r.uri.toString(), 'sip:strict.example');
    assert.deepEqual(r.headers.getAll('Route'), ['<sip:bob@192.0.2.4:5060>']);
  });

  test('strict routing strips URI headers from the Request-URI', () => {
    const r = createInDialogRequest(dialog(['<sip:strict.example?X-Foo=bar>']), 'BYE', { via, cseq: 2 });
    assert.ok(r.uri instanceof SipUri);
    assert.deepEqual(r.uri.headers, []);
    const again = parseMessage(serializeMessage(r));
    assert.equal(again.kind === 'request' && again.uri.toString(), 'sip:strict.example');
  });

  test('only the first route decides: a later strict route keeps loose routing', () => {
    const r = createInDialogRequest(dialog(['<sip:p1.example;lr>', '<sip:strict.example>']), 'BYE', { via, cseq: 2 });
    assert.equal(r.uri.toString(), 'sip:bob@192.0.2.4:5060');
    assert.equal(r.headers.route.length, 2);
  });

  test('the lr parameter is recognised in any case, with or without a value', () => {
    const r = createInDialogRequest(dialog(['<sip:p1.example;LR=on>']), 'BYE', { via, cseq: 2 });
    assert.equal(r.uri.toString(), 'sip:bob@192.0.2.4:5060');
  });

  test('the dialog route set is not modified', () => {
    const d = dialog(['<sip:strict.example>', '<sip:p2.example;lr>']);
    createInDialogRequest(d, 'BYE', { via, cseq: 2 });
    assert.equal(d.routeSet.length, 2);
  });

  test('a body and extra headers are carried', () => {
    const r = createInDialogRequest(dialog([]), 'INFO', {
      via, cseq: 3, headers: [['Info-Package', 'dtmf']], body: Buffer.from('Signal=5'), contentType: 'application/dtmf-relay',
    });
    assert.equal(r.headers.get('Info-Package'), 'dtmf');
    assert.equal(r.headers.get('Content-Type'), 'application/dtmf-relay');
    assert.equal(Buffer.from(r.body).toString(), 'Signal=5');
  });
});

describe('randomToken', () => {
  test('is hex of twice the byte count', () => {
    assert.match(randomToken(), /^[0-9a-f]{16}$/);
    assert.match(randomToken(4), /^[0-9a-f]{8}$/);
  });

  test('differs from call to call', () => {
    assert.notEqual(randomToken(), randomToken());
  });

  test('is usable as a tag', () => {
    const a = new NameAddr(new SipUri({ host: 'h.example' })).withTag(randomToken());
    assert.equal(parseNameAddr(a.toString()).tag, a.tag);
  });
});
