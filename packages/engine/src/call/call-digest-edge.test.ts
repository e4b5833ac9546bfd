// Digest-authenticated calls and the edge: the source told to the transport nodes, and each nonce
// count claimed cluster-wide before the call goes on (a replay to another worker refused).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { digestHa1, digestResponse } from '@switchboard/trunking';
import type { EdgeAuthentication } from '../context.js';
import { A_PORT, deliver, inviteFromA, settle } from '../testing/harness.js';
import { C1, NUMBER_PLAN, carrier, trunking, engineWith, takeFinal } from '../testing/call-fixtures.js';

const RURI = 'sip:+14155550100@beta.example';
const BETA = {
  id: 'beta', domain: 'beta.example', credentials: [{ username: 'beta-pbx', password: 'correct-horse' }], numberPlan: NUMBER_PLAN,
  routing: [{ prefix: '', carriers: ['carrierB'] }], callerId: { allowed: ['+1'] },
};
const SOURCE = '192.0.2.77';

function betaInvite(headers: string[] = []): string {
  return inviteFromA({ headers }).replace('INVITE sip:+14155550100@switchboard.example', `INVITE ${RURI}`);
}

/** Challenged, then the retry with credentials answering the SHA-256 challenge. */
async function authenticatedCall(edge: EdgeAuthentication) {
  const h = engineWith(trunking([carrier('carrierB', C1)], {}, [BETA]));
  h.ctx.edge = edge;
  deliver(h.engine, betaInvite(), A_PORT, 'udp', SOURCE);
  await settle();
  const challenge = takeFinal(h, A_PORT).headers.getAll('proxy-authenticate')[0] ?? '';
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? '';
  const ha1 = digestHa1('SHA-256', 'beta-pbx', 'beta.example', 'correct-horse');
  const response = digestResponse({ algorithm: 'SHA-256', ha1, method: 'INVITE', uri: RURI, nonce, qop: 'auth', nc: '00000001', cnonce: 'c0ffee' });
  const credentials = `Digest username="beta-pbx", realm="beta.example", nonce="${nonce}", uri="${RURI}", response="${response}", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c0ffee"`;
  deliver(h.engine, betaInvite([`Proxy-Authorization: ${credentials}`]), A_PORT, 'udp', SOURCE);
  await settle();
  return { h, nonce };
}

describe('call actor: digest authentication and the edge', () => {
  test('an authenticated call tells the edge its source and claims its nonce count before it is placed', async () => {
    const told: string[] = [];
    const claims: string[] = [];
    const { h, nonce } = await authenticatedCall({
      authenticated: (a) => told.push(a),
      claimNonce: async (n, nc) => (claims.push(`${n}.${nc}`), true),
    });
    assert.deepEqual(told, [SOURCE]);
    assert.deepEqual(claims, [`${nonce}.00000001`]);
    assert.equal(h.link.take(C1).length, 1, 'the INVITE went to the carrier');
    h.kernel.shutdown();
  });

  test('a nonce count another worker already used: 403, counted, nothing placed', async () => {
    const { h } = await authenticatedCall({ authenticated: () => {}, claimNonce: async () => false });
    assert.equal(takeFinal(h, A_PORT).status, 403);
    assert.equal(h.ctx.counters.get('refused.nonce-replayed'), 1);
    assert.equal(h.link.take(C1).length, 0);
    h.kernel.shutdown();
  });

  test('a replay check that cannot be answered: 503 with Retry-After, nothing placed', async () => {
    const { h } = await authenticatedCall({ authenticated: () => {}, claimNonce: () => Promise.reject(new Error('timeout')) });
    const res = takeFinal(h, A_PORT);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(h.ctx.counters.get('digest.replay-check-unavailable'), 1);
    assert.equal(h.link.take(C1).length, 0);
    h.kernel.shutdown();
  });
});
