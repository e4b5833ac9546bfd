import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readRoutingFields } from '@switchboard/sip';
import { encodeAuthenticatedSource, encodeEdgeSources, encodeMap, newRoutingScope, RoutingIds, type TransportInfo } from '@switchboard/wire';
import { pino } from 'pino';
import { EdgeGuard, requestUriHost } from './edge-guard.js';

const ids = new RoutingIds('0123456789abcdef0123');
const log = pino({ level: 'silent' });
const LIMITS = { perSourceRate: 1, burst: 2, banSeconds: 30, maxBans: 100, maxTracked: 100 };

function from(address: string): TransportInfo {
  return { protocol: 'udp', localAddress: '192.0.2.250', localPort: 5060, remoteAddress: address, remotePort: 5060, nodeId: 't1' };
}

function request(method: string, uri: string, toTag = ''): Buffer {
  return Buffer.from(
    `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.9;branch=z9hG4bK-1\r\nFrom: <sip:a@203.0.113.9>;tag=x\r\n` +
    `To: <sip:b@example.com>${toTag === '' ? '' : `;tag=${toTag}`}\r\nCall-ID: c1\r\nCSeq: 1 ${method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
  );
}

function learnt(): EdgeGuard {
  const edge = new EdgeGuard(LIMITS, ids, log);
  edge.onSources(encodeEdgeSources({ v: 1, networks: ['192.0.2.0/24'], domains: ['pbx.example.com'], revision: 3, worker: 'w1' }));
  return edge;
}

describe('EdgeGuard', () => {
  test('before any set is heard everything passes, and is counted', () => {
    const edge = new EdgeGuard(LIMITS, ids, log);
    assert.equal(edge.screen(request('INVITE', 'sip:1@example.com'), from('203.0.113.9')), 'pass');
    assert.equal(edge.snapshot().openPassed, 1);
    assert.equal(edge.snapshot().open, true);
  });

  test("a stranger's new request is dropped and counted; a known source's is left to its rate", () => {
    const edge = learnt();
    assert.equal(edge.screen(request('INVITE', 'sip:1@example.com'), from('203.0.113.9')), 'drop');
    assert.equal(edge.screen(request('OPTIONS', 'sip:example.com'), from('203.0.113.9')), 'drop');
    assert.equal(edge.screen(Buffer.from('garbage\r\n\r\n'), from('203.0.113.9')), 'drop');
    assert.equal(edge.screen(request('INVITE', 'sip:1@example.com'), from('192.0.2.8')), 'rate');
    assert.equal(edge.snapshot().strangerDropped, 3);
    assert.equal(edge.snapshot().revision, 3);
  });

  test("a stranger's in-dialog request passes only with a To tag of ours", () => {
    const edge = learnt();
    assert.equal(edge.screen(request('BYE', 'sip:b@192.0.2.250', ids.newTag(newRoutingScope(7))), from('203.0.113.9')), 'pass');
    assert.equal(edge.screen(request('BYE', 'sip:b@192.0.2.250', 'w1.0123456789abcdef.000000000000'), from('203.0.113.9')), 'drop');
  });

  test('a stranger may ask a trunk domain with credentials for a challenge, at its rate', () => {
    const edge = learnt();
    const invite = request('INVITE', 'sip:+4930123@PBX.example.com;user=phone');
    assert.equal(edge.screen(invite, from('203.0.113.9')), 'pass');
    assert.equal(edge.screen(invite, from('203.0.113.9')), 'pass');
    assert.equal(edge.screen(invite, from('203.0.113.9')), 'drop');
    assert.deepEqual([edge.snapshot().challengePassed, edge.snapshot().bannedDropped, edge.snapshot().bans], [2, 1, 1]);
  });

  test('a known source is held to its rate; its OPTIONS keep-alives and in-dialog requests never are', () => {
    const edge = learnt();
    const t = from('192.0.2.8');
    const invite = readRoutingFields(request('INVITE', 'sip:1@example.com'));
    assert.equal(edge.admit(invite, t), true);
    assert.equal(edge.admit(invite, t), true);
    assert.equal(edge.admit(invite, t), false);
    assert.equal(edge.admit(invite, t), false);
    for (let i = 0; i < 10; i++) {
      assert.equal(edge.admit(readRoutingFields(request('OPTIONS', 'sip:example.com')), t), true);
      assert.equal(edge.admit(readRoutingFields(request('BYE', 'sip:b@192.0.2.250', ids.newTag(newRoutingScope(7)))), t), true);
    }
    assert.deepEqual([edge.snapshot().bannedDropped, edge.snapshot().keepalivesPassed, edge.snapshot().banned], [2, 10, 1]);
  });

  test('a source that passed digest authentication is known', () => {
    const edge = learnt();
    edge.onAuthenticated(encodeAuthenticatedSource({ v: 1, address: '203.0.113.9', until: Date.now() + 60_000 }));
    assert.equal(edge.screen(request('INVITE', 'sip:1@example.com'), from('203.0.113.9')), 'rate');
  });

  test('an unreadable envelope is counted and changes nothing', () => {
    const edge = learnt();
    edge.onSources(encodeMap({ v: 1, networks: 'all' }));
    edge.onAuthenticated(Buffer.from('not msgpack'));
    assert.equal(edge.snapshot().badEnvelopes, 2);
    assert.equal(edge.snapshot().networks, 1);
  });
});

describe('requestUriHost', () => {
  test('reads the host of a SIP Request-URI from the request line', () => {
    assert.equal(requestUriHost(Buffer.from('INVITE sip:+4930@pbx.example.com:5060;user=phone SIP/2.0\r\n')), 'pbx.example.com');
    assert.equal(requestUriHost(Buffer.from('INVITE sips:pbx.example.com SIP/2.0\r\n')), 'pbx.example.com');
    assert.equal(requestUriHost(Buffer.from('INVITE sip:u@[2001:db8::1]:5060 SIP/2.0\r\n')), '[2001:db8::1]');
    assert.equal(requestUriHost(Buffer.from('INVITE tel:+4930 SIP/2.0\r\n')), undefined);
    assert.equal(requestUriHost(Buffer.from('INVITE')), undefined);
  });
});
