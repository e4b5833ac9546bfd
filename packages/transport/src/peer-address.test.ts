import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { describe, test } from 'node:test';
import { advertisedAddress, guessedAdvertisements, isWildcard } from './peer-address.js';

describe('guessedAdvertisements', () => {
  test('names every wildcard listener without advertise, with the address chosen for it', () => {
    const guessed = guessedAdvertisements([
      { protocol: 'udp', host: '0.0.0.0', port: 5060 },
      { protocol: 'tcp', host: '0.0.0.0', port: 5060, advertise: '192.0.2.7' },
      { protocol: 'udp', host: '10.0.0.5', port: 5080 },
      { protocol: 'tcp', host: '::', port: 5060 },
    ]);
    assert.deepEqual(guessed.map((g) => [g.protocol, g.host, g.port]), [['udp', '0.0.0.0', 5060], ['tcp', '::', 5060]]);
    const firstV4 = Object.values(networkInterfaces()).flat().find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';
    assert.equal(guessed[0]?.advertised, firstV4);
    assert.equal(guessed[0]?.advertised, advertisedAddress('0.0.0.0', undefined));
  });

  test('nothing to say when every listener has an address peers can reach', () => {
    assert.deepEqual(guessedAdvertisements([{ protocol: 'udp', host: '127.0.0.1', port: 5060 }, { protocol: 'tcp', host: '0.0.0.0', port: 5060, advertise: 'sip.example.net' }]), []);
  });

  test('isWildcard: the any-addresses of both families only', () => {
    assert.deepEqual(['0.0.0.0', '::', '127.0.0.1', '::1', 'sip.example.net'].map(isWildcard), [true, true, false, false, false]);
  });
});
