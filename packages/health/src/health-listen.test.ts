import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { healthListenFromEnv } from './health-listen.js';

describe('healthListenFromEnv', () => {
  test('off unless SWITCHBOARD_HEALTH_PORT is set', () => {
    assert.deepEqual(healthListenFromEnv({}), { ok: true, listen: undefined });
    assert.deepEqual(healthListenFromEnv({ SWITCHBOARD_HEALTH_PORT: ' ', SWITCHBOARD_HEALTH_HOST: '127.0.0.1' }), { ok: true, listen: undefined });
  });

  test('every address by default, or the host given', () => {
    assert.deepEqual(healthListenFromEnv({ SWITCHBOARD_HEALTH_PORT: '8081' }), { ok: true, listen: { host: '0.0.0.0', port: 8081 } });
    assert.deepEqual(healthListenFromEnv({ SWITCHBOARD_HEALTH_PORT: '8081', SWITCHBOARD_HEALTH_HOST: '::' }), { ok: true, listen: { host: '::', port: 8081 } });
  });

  test('a port that is not one is refused, naming the variable', () => {
    for (const bad of ['http', '-1', '65536', '80.5']) {
      const r = healthListenFromEnv({ SWITCHBOARD_HEALTH_PORT: bad });
      assert.equal(r.ok, false, bad);
      if (!r.ok) assert.match(r.message, /^SWITCHBOARD_HEALTH_PORT: /);
    }
  });
});
