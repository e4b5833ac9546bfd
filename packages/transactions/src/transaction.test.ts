// The one face of the four machines: a driver holds them as ClientTransaction / ServerTransaction.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClientInviteTransaction } from './client-invite-transaction.js';
import { ClientNonInviteTransaction } from './client-non-invite-transaction.js';
import { request, response } from './fixtures.js';
import { ServerInviteTransaction } from './server-invite-transaction.js';
import { ServerNonInviteTransaction } from './server-non-invite-transaction.js';
import { clientTransaction, serverTransaction, type ClientTransaction, type ServerTransaction } from './create-transaction.js';

describe('Transaction', () => {
  test('kind tells an INVITE transaction from a non-INVITE one, on both sides', () => {
    const invite = request();
    const bye = request({ method: 'BYE', toTag: 'uas-tag-1' });
    const clients: ClientTransaction[] = [new ClientInviteTransaction(invite, { reliable: true }), new ClientNonInviteTransaction(bye, { reliable: true })];
    const servers: ServerTransaction[] = [new ServerInviteTransaction(invite, { reliable: true }), new ServerNonInviteTransaction(bye, { reliable: true })];
    assert.deepEqual(clients.map((t) => t.kind), ['invite', 'non-invite']);
    assert.deepEqual(servers.map((t) => t.kind), ['invite', 'non-invite']);
    for (const t of clients) assert.equal(t.handle({ type: 'start' })[0]?.type, 'send');
    for (const t of servers) assert.ok(t.handle({ type: 'start' }).some((e) => e.type === 'pass-up'));
  });

  test('clientTransaction and serverTransaction pick the kind by method', () => {
    const invite = request();
    const bye = request({ method: 'BYE', toTag: 'uas-tag-1' });
    assert.ok(clientTransaction(invite, { reliable: true }) instanceof ClientInviteTransaction);
    assert.ok(clientTransaction(bye, { reliable: true }) instanceof ClientNonInviteTransaction);
    assert.ok(serverTransaction(invite, { reliable: true }) instanceof ServerInviteTransaction);
    assert.ok(serverTransaction(bye, { reliable: true }) instanceof ServerNonInviteTransaction);
  });

  test('a non-INVITE server transaction ignores an ACK (§17.2.3: an ACK matches only an INVITE transaction)', () => {
    const bye = request({ method: 'BYE', toTag: 'uas-tag-1' });
    const tx: ServerTransaction = new ServerNonInviteTransaction(bye, { reliable: false });
    tx.handle({ type: 'start' });
    tx.handle({ type: 'respond', response: response(bye, 200) });
    assert.equal(tx.state, 'Completed');
    assert.deepEqual(tx.handle({ type: 'ack', request: request({ method: 'ACK', toTag: 'uas-tag-1' }) }), []);
    assert.equal(tx.state, 'Completed');
  });
});
