import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCdrWebOptions, parseListen } from './cdr-web-options.js';

describe('cdr-web options', () => {
  it('listens on 127.0.0.1:8080 and asks the local NATS by default', () => {
    assert.deepEqual(parseCdrWebOptions([], {}), {
      ok: true, options: { host: '127.0.0.1', port: 8080, natsServers: ['nats://127.0.0.1:4222'], logLevel: 'info' },
    });
  });

  it('takes --listen over SWITCHBOARD_CDR_WEB_LISTEN, and the NATS settings from the environment', () => {
    const env = {
      SWITCHBOARD_CDR_WEB_LISTEN: '0.0.0.0:9000', SWITCHBOARD_NATS_URL: 'nats://a:4222, nats://b:4222',
      SWITCHBOARD_NATS_USER: 'sb', SWITCHBOARD_NATS_PASSWORD: 'pw', SWITCHBOARD_LOG_LEVEL: 'debug',
    };
    const fromEnv = parseCdrWebOptions([], env);
    assert.ok(fromEnv.ok);
    assert.deepEqual(fromEnv.options, {
      host: '0.0.0.0', port: 9000, natsServers: ['nats://a:4222', 'nats://b:4222'], natsUser: 'sb', natsPass: 'pw', logLevel: 'debug',
    });
    const fromArgs = parseCdrWebOptions(['--listen', '[::1]:8081'], env);
    assert.ok(fromArgs.ok);
    assert.equal(fromArgs.options.host, '::1');
    assert.equal(fromArgs.options.port, 8081);
    const short = parseCdrWebOptions(['--listen=localhost:1'], { SWITCHBOARD_NATS_PASS: 'other' });
    assert.ok(short.ok);
    assert.equal(short.options.natsPass, 'other');
  });

  it('refuses what it cannot use', () => {
    assert.equal(parseCdrWebOptions(['--listen'], {}).ok, false);
    assert.equal(parseCdrWebOptions(['--port', '1'], {}).ok, false);
    assert.equal(parseCdrWebOptions([], { SWITCHBOARD_LOG_LEVEL: 'loud' }).ok, false);
    assert.equal(parseListen('8080'), undefined);
    assert.equal(parseListen('host:70000'), undefined);
    assert.equal(parseListen(':8080'), undefined);
  });

  it('serves health endpoints only when SWITCHBOARD_HEALTH_PORT is set, and refuses one that is no port', () => {
    const on = parseCdrWebOptions([], { SWITCHBOARD_HEALTH_PORT: '8081' });
    assert.ok(on.ok);
    assert.deepEqual(on.options.health, { host: '0.0.0.0', port: 8081 });
    const off = parseCdrWebOptions([], {});
    assert.ok(off.ok);
    assert.equal(off.options.health, undefined);
    const bad = parseCdrWebOptions([], { SWITCHBOARD_HEALTH_PORT: 'eighty' });
    assert.ok(!bad.ok);
    assert.match(bad.message, /^SWITCHBOARD_HEALTH_PORT: /);
  });
});
