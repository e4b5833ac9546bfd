import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@switchboard/config';
import { loadTransportConfig } from './transport-config.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-transport-config-test-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const SECRET = '0123456789abcdef0123';
const MINIMAL = `transport:
  id: tn1
nats:
  servers: [nats://127.0.0.1:4222]
routing:
  secret: "${SECRET}"
`;

let n = 0;
function write(text: string): string {
  const file = join(dir, `transport-${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

function assertRefused(file: string, env: NodeJS.ProcessEnv, field: string): void {
  assert.throws(
    () => loadTransportConfig(file, env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      assert.equal(err.file, file);
      assert.equal(err.field, field);
      assert.ok(err.message.startsWith(`${file}: ${field}: `), err.message);
      return true;
    },
  );
}

describe('loadTransportConfig', () => {
  test('fills the defaults', () => {
    const c = loadTransportConfig(write(MINIMAL), {});
    assert.equal(c.transport.id, 'tn1');
    assert.deepEqual(c.transport.listen, [
      { protocol: 'udp', host: '0.0.0.0', port: 5060 },
      { protocol: 'tcp', host: '0.0.0.0', port: 5060 },
    ]);
    assert.equal(c.transport.tcp.idleTimeoutMs, 300_000);
    assert.equal(c.transport.tcp.connectTimeoutMs, 5_000);
    assert.equal(c.transport.retryAfterSeconds, 5);
    assert.equal(c.transport.maxMessageBytes, 65_535);
    assert.equal(c.transport.shutdownGraceMs, 5_000);
    assert.deepEqual(c.transport.natsOutage, { heldPerConnection: 64, heldTotal: 4_096, firstReceipts: 10_000 });
    assert.equal(c.log.level, 'info');
    assert.deepEqual(c.nats.servers, ['nats://127.0.0.1:4222']);
    assert.equal(c.routing.secret, SECRET);
  });

  test('a listener given without host or port gets the defaults for them', () => {
    const c = loadTransportConfig(write(MINIMAL.replace('  id: tn1\n', '  id: tn1\n  listen:\n    - protocol: tcp\n    - { protocol: udp, port: 5080 }\n  tcp: { idleTimeoutMs: 1000 }\n')), {});
    assert.deepEqual(c.transport.listen, [
      { protocol: 'tcp', host: '0.0.0.0', port: 5060 },
      { protocol: 'udp', host: '0.0.0.0', port: 5080 },
    ]);
    assert.equal(c.transport.tcp.idleTimeoutMs, 1000);
    assert.equal(c.transport.tcp.connectTimeoutMs, 5_000);
  });

  test('the environment parameter overrides the file', () => {
    const file = write(MINIMAL);
    const c = loadTransportConfig(file, {
      SWITCHBOARD_NATS_URL: ' nats://a:4222, nats://b:4222 ,,nats://c:4222',
      SWITCHBOARD_TRANSPORT_ID: 'edge7',
      SWITCHBOARD_ROUTING_SECRET: 'another-secret-of-enough-length',
      SWITCHBOARD_LOG_LEVEL: 'debug',
      SWITCHBOARD_NATS_USER: 'sb',
      SWITCHBOARD_NATS_PASS: 'pw',
    });
    assert.deepEqual(c.nats.servers, ['nats://a:4222', 'nats://b:4222', 'nats://c:4222']);
    assert.equal(c.transport.id, 'edge7');
    assert.equal(c.routing.secret, 'another-secret-of-enough-length');
    assert.equal(c.log.level, 'debug');
    assert.equal(c.nats.user, 'sb');
    assert.equal(c.nats.pass, 'pw');
    // the parameter, not process.env, is read
    assert.equal(loadTransportConfig(file, {}).transport.id, 'tn1');
  });

  test('the environment can supply what the file lacks', () => {
    const c = loadTransportConfig(write('transport: {}\n'), {
      SWITCHBOARD_TRANSPORT_ID: 'tn9', SWITCHBOARD_NATS_URL: 'nats://n:4222', SWITCHBOARD_ROUTING_SECRET: SECRET,
    });
    assert.equal(c.transport.id, 'tn9');
    assert.deepEqual(c.nats.servers, ['nats://n:4222']);
  });

  test('a bad listener port is refused naming transport.listen[0].port', () => {
    for (const port of ['70000', '-1', '"5060"', '50.5']) {
      const file = write(MINIMAL.replace('  id: tn1\n', `  id: tn1\n  listen:\n    - { protocol: udp, port: ${port} }\n`));
      assertRefused(file, {}, 'transport.listen[0].port');
    }
  });

  test('a short or missing routing secret is refused naming routing.secret', () => {
    assertRefused(write(MINIMAL.replace(SECRET, 'short')), {}, 'routing.secret');
    assertRefused(write(MINIMAL), { SWITCHBOARD_ROUTING_SECRET: 'x'.repeat(15) }, 'routing.secret');
    assertRefused(write(MINIMAL.replace(`routing:\n  secret: "${SECRET}"\n`, 'routing: {}\n')), {}, 'routing.secret');
  });

  test('a transport id that cannot be a subject token is refused naming transport.id', () => {
    assertRefused(write(MINIMAL.replace('id: tn1', 'id: tn.1')), {}, 'transport.id');
    assertRefused(write(MINIMAL), { SWITCHBOARD_TRANSPORT_ID: 'tn-1' }, 'transport.id');
    assertRefused(write(MINIMAL), { SWITCHBOARD_TRANSPORT_ID: 'x'.repeat(33) }, 'transport.id');
    assertRefused(write(MINIMAL.replace('  id: tn1\n', '  retryAfterSeconds: 5\n')), {}, 'transport.id');
  });

  test('other bad values name their fields', () => {
    assertRefused(write(MINIMAL.replace('  id: tn1\n', '  id: tn1\n  listen: [{ protocol: sctp }]\n')), {}, 'transport.listen[0].protocol');
    assertRefused(write(MINIMAL.replace('  id: tn1\n', '  id: tn1\n  listen: []\n')), {}, 'transport.listen');
    assertRefused(write(MINIMAL.replace('  id: tn1\n', '  id: tn1\n  retryAfterSeconds: 7200\n')), {}, 'transport.retryAfterSeconds');
    assertRefused(write(MINIMAL), { SWITCHBOARD_NATS_URL: ' , ' }, 'nats.servers');
    assertRefused(write(MINIMAL), { SWITCHBOARD_LOG_LEVEL: 'verbose' }, 'log.level');
  });

  test('the NATS outage bounds are read, defaulted field by field, and refused naming the field', () => {
    const c = loadTransportConfig(write(MINIMAL.replace('  id: tn1\n', '  id: tn1\n  natsOutage: { heldPerConnection: 8 }\n')), {});
    assert.deepEqual(c.transport.natsOutage, { heldPerConnection: 8, heldTotal: 4_096, firstReceipts: 10_000 });
    const bad = (field: string, value: string) => write(MINIMAL.replace('  id: tn1\n', `  id: tn1\n  natsOutage: { ${field}: ${value} }\n`));
    assertRefused(bad('heldPerConnection', '0'), {}, 'transport.natsOutage.heldPerConnection');
    assertRefused(bad('heldTotal', '1.5'), {}, 'transport.natsOutage.heldTotal');
    assertRefused(bad('firstReceipts', '"many"'), {}, 'transport.natsOutage.firstReceipts');
  });

  test('a TLS listener: port 5061 by default, its certificate files required; outbound TLS files in pairs', () => {
    const c = loadTransportConfig(write(MINIMAL.replace('  id: tn1\n', '  id: tn1\n  listen:\n    - { protocol: tls, tls: { certFile: /etc/sb/tls.crt, keyFile: /etc/sb/tls.key } }\n')), {});
    assert.deepEqual(c.transport.listen, [{ protocol: 'tls', host: '0.0.0.0', port: 5061, tls: { certFile: '/etc/sb/tls.crt', keyFile: '/etc/sb/tls.key', verifyClient: false } }]);
    assert.deepEqual(c.transport.tls, { client: {}, reloadCheckMs: 2_000, handshakeTimeoutMs: 5_000 });
    assertRefused(write(MINIMAL.replace('  id: tn1\n', '  id: tn1\n  listen: [{ protocol: tls }]\n')), {}, 'transport.listen[0].tls');
    assertRefused(write(MINIMAL.replace('  id: tn1\n', '  id: tn1\n  listen: [{ protocol: tcp, tls: { certFile: a, keyFile: b } }]\n')), {}, 'transport.listen[0].tls');
    assertRefused(write(MINIMAL.replace('  id: tn1\n', '  id: tn1\n  tls: { client: { certFile: /etc/sb/client.crt } }\n')), {}, 'transport.tls.client.keyFile');
  });

  test('no health listener unless the file or SWITCHBOARD_HEALTH_PORT asks for one', () => {
    assert.equal(loadTransportConfig(write(MINIMAL), {}).health, undefined);
    assert.deepEqual(loadTransportConfig(write(`${MINIMAL}health: { port: 8081 }\n`), {}).health, { port: 8081, host: '0.0.0.0' });
    assert.deepEqual(loadTransportConfig(write(MINIMAL), { SWITCHBOARD_HEALTH_PORT: '9090', SWITCHBOARD_HEALTH_HOST: '127.0.0.1' }).health, { port: 9090, host: '127.0.0.1' });
    assert.deepEqual(loadTransportConfig(write(`${MINIMAL}health: { port: 8081, host: 10.0.0.1 }\n`), { SWITCHBOARD_HEALTH_PORT: '9090' }).health, { port: 9090, host: '10.0.0.1' });
    assertRefused(write(MINIMAL), { SWITCHBOARD_HEALTH_PORT: 'eighty' }, 'health.port');
    assertRefused(write(`${MINIMAL}health: { port: 70000 }\n`), {}, 'health.port');
    assertRefused(write(MINIMAL), { SWITCHBOARD_HEALTH_HOST: '127.0.0.1' }, 'health.port');
  });

  test('SWITCHBOARD_ADVERTISE is the advertised address of every listener, over the file\'s', () => {
    const file = write(MINIMAL.replace('  id: tn1\n', '  id: tn1\n  listen:\n    - { protocol: udp, advertise: 192.0.2.1 }\n    - { protocol: tcp }\n'));
    assert.deepEqual(loadTransportConfig(file, {}).transport.listen.map((l) => l.advertise), ['192.0.2.1', undefined]);
    assert.deepEqual(loadTransportConfig(file, { SWITCHBOARD_ADVERTISE: ' 10.1.2.3 ' }).transport.listen.map((l) => l.advertise), ['10.1.2.3', '10.1.2.3']);
    assert.deepEqual(loadTransportConfig(write(MINIMAL), { SWITCHBOARD_ADVERTISE: 'sip.example.net' }).transport.listen.map((l) => l.advertise), ['sip.example.net', 'sip.example.net']);
  });

  test('SWITCHBOARD_ADVERTISE_FILE: the address the file holds, over SWITCHBOARD_ADVERTISE; missing, empty or two words refused', () => {
    const address = join(dir, 'advertise');
    writeFileSync(address, '203.0.113.7\n');
    const env = { SWITCHBOARD_ADVERTISE_FILE: address, SWITCHBOARD_ADVERTISE: '10.1.2.3' };
    assert.deepEqual(loadTransportConfig(write(MINIMAL), env).transport.listen.map((l) => l.advertise), ['203.0.113.7', '203.0.113.7']);
    assertRefused(write(MINIMAL), { SWITCHBOARD_ADVERTISE_FILE: join(dir, 'no-such-file') }, 'SWITCHBOARD_ADVERTISE_FILE');
    writeFileSync(address, ' \n');
    assertRefused(write(MINIMAL), env, 'SWITCHBOARD_ADVERTISE_FILE');
    writeFileSync(address, '203.0.113.7 10.1.2.3');
    assertRefused(write(MINIMAL), env, 'SWITCHBOARD_ADVERTISE_FILE');
    writeFileSync(address, '0.0.0.0');
    assertRefused(write(MINIMAL), env, 'SWITCHBOARD_ADVERTISE_FILE');
  });

  test('a wildcard address is never advertised: refused in the file and in SWITCHBOARD_ADVERTISE', () => {
    assertRefused(write(MINIMAL.replace('  id: tn1\n', '  id: tn1\n  listen: [{ protocol: udp, advertise: 0.0.0.0 }]\n')), {}, 'transport.listen[0].advertise');
    assertRefused(write(MINIMAL), { SWITCHBOARD_ADVERTISE: '::' }, 'SWITCHBOARD_ADVERTISE');
  });

  test('a missing file is a ConfigError naming it', () => {
    const missing = join(dir, 'nope.yaml');
    assertRefused(missing, {}, '(file)');
  });
});

describe('transport configuration: the id from a node name', () => {
  test('SWITCHBOARD_TRANSPORT_ID_FROM (a Kubernetes node name) gives a valid id, the same on every start', () => {
    const env = { SWITCHBOARD_TRANSPORT_ID_FROM: 'ip-10-0-1-23.ec2.internal' };
    const id = loadTransportConfig(write(MINIMAL), env).transport.id;
    assert.match(id, /^[A-Za-z0-9]{1,32}$/);
    assert.equal(loadTransportConfig(write(MINIMAL), env).transport.id, id);
  });

  test('SWITCHBOARD_TRANSPORT_ID wins over it', () => {
    const config = loadTransportConfig(write(MINIMAL), { SWITCHBOARD_TRANSPORT_ID_FROM: 'ip-10-0-1-23.ec2.internal', SWITCHBOARD_TRANSPORT_ID: 't7' });
    assert.equal(config.transport.id, 't7');
  });
});

describe('transport configuration: edge limits', () => {
  test('edge overrides: a rate of their own for the sources named; a source that is no address or block is refused', () => {
    const edge = (sources: string) => write(MINIMAL.replace('  id: tn1\n', `  id: tn1\n  edge:\n    overrides:\n      - { sources: [${sources}], perSourceRate: 2000, burst: 4000 }\n`));
    const c = loadTransportConfig(edge('198.51.100.0/24, "2001:db8::1"'), {});
    assert.deepEqual(c.transport.edge.overrides, [{ sources: ['198.51.100.0/24', '2001:db8::1'], perSourceRate: 2000, burst: 4000 }]);
    assert.equal(c.transport.edge.perSourceRate, 400, 'the default stays for everyone else');
    assertRefused(edge('carrier.example'), {}, 'transport.edge.overrides[0].sources[0]');
  });
});
