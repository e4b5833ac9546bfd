// Peers' own TLS files as the transport node keeps them: only under the allowed directories, a
// failure answered from memory for a while (not re-read per send), idle and surplus sets dropped
// and no longer watched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createTestPki, type TestPki } from '@switchboard/testkit';
import type { TlsCredentials } from './tls-credentials.js';
import { PeerTlsCredentials, peerFilesDirs, type PeerTlsOptions } from './tls-peers.js';

let pki: TestPki;
let other: TestPki;
const made: PeerTlsCredentials[] = [];
const dirs: string[] = [];
before(() => {
  pki = createTestPki();
  other = createTestPki('Other CA');
});
after(() => {
  for (const p of made) p.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Peer credentials on a fake clock; `watched` and `closed` record each set's watching. */
function peers(o: Partial<PeerTlsOptions> = {}) {
  const clock = { now: 1_000 };
  const watched: TlsCredentials[] = [];
  const closed: TlsCredentials[] = [];
  const p = new PeerTlsCredentials({}, {
    allowedDirs: [pki.dir, other.dir],
    watch: (c) => {
      watched.push(c);
      const close = c.close.bind(c);
      c.close = () => {
        closed.push(c);
        close();
      };
      return c;
    },
    now: () => clock.now,
    ...o,
  });
  made.push(p);
  return { p, clock, watched, closed };
}

describe('peer TLS files', () => {
  test('only files under the allowed directories are read; `..` does not climb out', () => {
    const { p, watched } = peers({ allowedDirs: [other.dir] });
    assert.throws(() => p.for({ caFile: pki.caFile }), new RegExp(`caFile ${pki.caFile}\\): ${pki.caFile} is not under transport\\.tls\\.peerFilesDirs \\(${other.dir}\\)`));
    assert.throws(() => p.for({ caFile: `${other.dir}/../${basename(pki.dir)}/ca.pem` }), /is not under transport\.tls\.peerFilesDirs/);
    assert.throws(() => p.for({ caFile: 'ca.pem' }), /ca\.pem is not under/, 'a relative path is refused');
    assert.throws(() => peers({ allowedDirs: [] }).p.for({ caFile: pki.caFile }), /peerFilesDirs \(none\)/);
    assert.equal(watched.length, 0);
    assert.ok(p.for({ caFile: other.caFile }));
  });

  test('files that cannot be used fail every send for 5 s without being read again, then are tried again', () => {
    const { p, clock } = peers();
    const caFile = join(pki.dir, 'late-ca.pem');
    assert.throws(() => p.for({ caFile }), /ENOENT/);
    copyFileSync(pki.caFile, caFile);
    clock.now += 4_999;
    assert.throws(() => p.for({ caFile }), /ENOENT/, 'the failure, from memory: the file put in place is not read yet');
    clock.now += 1;
    assert.ok(p.for({ caFile }), 'read again once the hold is over');
    assert.equal(p.size, 1);
  });

  test('sets no send used for the idle time are dropped and unwatched; past the maximum, the least recently used goes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peer-files-'));
    dirs.push(dir);
    const cas = ['a', 'b', 'c'].map((n) => {
      const file = join(dir, `${n}.pem`);
      copyFileSync(pki.caFile, file);
      return file;
    });
    const { p, clock, watched, closed } = peers({ allowedDirs: [dir], maxEntries: 2, idleMs: 60_000 });
    const a = p.for({ caFile: cas[0] });
    clock.now += 1_000;
    const b = p.for({ caFile: cas[1] });
    clock.now += 1_000;
    assert.equal(p.for({ caFile: cas[0] }), a, 'a use makes `a` the most recent');
    clock.now += 1_000;
    p.for({ caFile: cas[2] });
    assert.deepEqual([p.size, closed], [2, [b]], 'the third set pushes out the least recently used');
    clock.now += 59_000;
    p.for({ caFile: cas[2] });
    assert.deepEqual([p.size, closed.length, closed[1]], [1, 2, a], '`a` idle for a minute is dropped, `c` in use stays');
    assert.notEqual(p.for({ caFile: cas[0] }), a, 'asked for again, it is loaded anew');
    assert.equal(watched.length, 4);
    p.close();
    assert.equal(closed.length, 4, 'closing the node stops watching every set');
  });

  test('allowed directories: transport.tls.peerFilesDirs, else those of the node\'s own TLS files', () => {
    const listen = [{ tls: { certFile: '/etc/switchboard-tls/tls.crt', keyFile: '/etc/switchboard-tls/tls.key' } }, {}];
    assert.deepEqual(peerFilesDirs({ listen, tls: { client: { caFile: '/etc/carriers/ca.pem' } } }), ['/etc/carriers', '/etc/switchboard-tls']);
    assert.deepEqual(peerFilesDirs({ listen, tls: { client: {}, peerFilesDirs: ['/srv/peers/'] } }), ['/srv/peers']);
    assert.deepEqual(peerFilesDirs({ listen: [{}], tls: { client: {} } }), []);
  });
});
