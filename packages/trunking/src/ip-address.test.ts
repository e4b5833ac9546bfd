import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import { ipVersion } from './ip-address.js';

describe('ipVersion', () => {
  const cases = [
    '127.0.0.1', '0.0.0.0', '255.255.255.255', '192.0.2.10', '256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4.5', 'a.b.c.d', '',
    '::', '::1', '2001:db8::1', '2001:db8:0:0:0:0:0:1', '2001:db8:0:0:0:0:0:0:1', 'fe80::1:2:3:4:5:6', '1::2::3', ':::',
    '::ffff:192.0.2.1', '64:ff9b::192.0.2.1', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '::ffff:999.0.0.1', '12345::1', 'g::1',
    'carrier.example', 'localhost', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8',
  ];
  for (const text of cases) {
    it(`agrees with node's isIP on ${JSON.stringify(text)}`, () => assert.equal(ipVersion(text), isIP(text)));
  }
});
