import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { CLUSTER_ENV, HealthSection } from './cluster-sections.js';
import { applyEnvOverrides } from './load-config.js';

const Schema = z.object({ health: HealthSection });

describe('HealthSection', () => {
  test('absent is no listener; a port alone listens on every address', () => {
    assert.equal(Schema.parse({}).health, undefined);
    assert.deepEqual(Schema.parse({ health: { port: 8081 } }).health, { port: 8081, host: '0.0.0.0' });
  });

  test('SWITCHBOARD_HEALTH_PORT and SWITCHBOARD_HEALTH_HOST override the file', () => {
    const raw = applyEnvOverrides({ health: { port: 1, host: 'x' } }, CLUSTER_ENV, { SWITCHBOARD_HEALTH_PORT: '8081', SWITCHBOARD_HEALTH_HOST: '127.0.0.1' });
    assert.deepEqual(Schema.parse(raw).health, { port: 8081, host: '127.0.0.1' });
  });

  test('a port that is not a whole number in range is refused', () => {
    for (const text of ['http', '80.5', '-1', '65536']) {
      assert.equal(Schema.safeParse(applyEnvOverrides({}, CLUSTER_ENV, { SWITCHBOARD_HEALTH_PORT: text })).success, false, text);
    }
  });
});
