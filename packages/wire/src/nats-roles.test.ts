import assert from 'node:assert/strict';
import { test } from 'node:test';
import { natsInboxPrefix } from './nats-roles.js';

test('each role has its own inbox prefix: one subject token, no wildcard, none the prefix of another', () => {
  const roles = ['transport', 'worker', 'config-writer', 'admin', 'cdr-web'] as const;
  const prefixes = roles.map(natsInboxPrefix);
  for (const p of prefixes) {
    // nats.js refuses a prefix with wildcards or whitespace; one token keeps `_INBOX_<role>.>` exact
    assert.match(p, /^_INBOX_[a-z-]+$/);
    // `_INBOX_<role>.>` in the permissions must never cover another role's inboxes
    for (const other of prefixes) if (other !== p) assert.ok(!`${other}.x`.startsWith(`${p}.`));
  }
  assert.equal(new Set(prefixes).size, roles.length);
  assert.equal(natsInboxPrefix('worker'), '_INBOX_worker', 'the name deploy/nats/permissions.conf grants');
});
