import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { applyEnvOverrides, formatPath, loadConfig, readConfigFile, validateConfig, type EnvOverride } from './load-config.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-config-test-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const Schema = z.object({
  name: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(5060),
  trunks: z.array(
    z.object({
      id: z.string(),
      routing: z.array(z.object({ prefix: z.string().regex(/^\+?\d+$/, 'expected digits'), target: z.string() })),
    }),
  ),
  nats: z.object({ servers: z.array(z.string()).min(1) }).optional(),
});

const GOOD = {
  name: 'edge',
  trunks: [
    { id: 't0', routing: [{ prefix: '+1', target: 'a' }] },
    { id: 't1', routing: [] },
    { id: 't2', routing: [{ prefix: '+44', target: 'b' }] },
  ],
};

function assertConfigError(fn: () => unknown, expected: { file: string; field: string | RegExp; problem?: RegExp }): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.name, 'ConfigError');
  assert.equal(caught.file, expected.file);
  if (typeof expected.field === 'string') assert.equal(caught.field, expected.field);
  else assert.match(caught.field, expected.field);
  if (expected.problem !== undefined) assert.match(caught.problem, expected.problem);
  assert.equal(caught.message, `${caught.file}: ${caught.field}: ${caught.problem}`);
  return caught;
}

describe('formatPath', () => {
  test('writes indexes in brackets and keys with dots', () => {
    assert.equal(formatPath(['trunks', 2, 'routing', 0, 'prefix']), 'trunks[2].routing[0].prefix');
    assert.equal(formatPath(['transport', 'listen', 0, 'port']), 'transport.listen[0].port');
    assert.equal(formatPath(['name']), 'name');
    assert.equal(formatPath([0, 'a']), '[0].a');
    assert.equal(formatPath([]), '(top level)');
  });
});

describe('validateConfig', () => {
  test('returns the parsed value with defaults filled', () => {
    const out = validateConfig(Schema, GOOD, 'edge.yaml');
    assert.equal(out.port, 5060);
    assert.equal(out.trunks[2]?.routing[0]?.prefix, '+44');
  });

  test('a bad nested field names the file and its path', () => {
    const raw = structuredClone(GOOD);
    (raw.trunks[2]?.routing[0] as { prefix: string }).prefix = 'abc';
    assertConfigError(() => validateConfig(Schema, raw, '/etc/sb/edge.yaml'), {
      file: '/etc/sb/edge.yaml', field: 'trunks[2].routing[0].prefix', problem: /expected digits/,
    });
  });

  test('a missing required field and a wrong type are named', () => {
    const { name: _name, ...noName } = GOOD;
    assertConfigError(() => validateConfig(Schema, noName, 'f.yaml'), { file: 'f.yaml', field: 'name' });
    assertConfigError(() => validateConfig(Schema, { ...GOOD, port: '5060' }, 'f.yaml'), { file: 'f.yaml', field: 'port' });
    assertConfigError(() => validateConfig(Schema, { ...GOOD, port: 70000 }, 'f.yaml'), { file: 'f.yaml', field: 'port' });
  });

  test('a value that is not an object at all is a top-level problem', () => {
    assertConfigError(() => validateConfig(Schema, 'hello', 'f.yaml'), { file: 'f.yaml', field: '(top level)' });
  });
});

describe('readConfigFile', () => {
  test('a missing file names the file', () => {
    const missing = join(dir, 'does-not-exist.yaml');
    assertConfigError(() => readConfigFile(missing), { file: missing, field: '(file)', problem: /ENOENT/ });
  });

  test('a YAML syntax error names the file and the line', () => {
    const file = write('broken.yaml', 'name: edge\nport: 5060\ntrunks: [\n  { id: t0\nnats: {}\n');
    const err = assertConfigError(() => readConfigFile(file), { file, field: /^line \d+$/ });
    assert.ok(Number(err.field.slice(5)) >= 3, `the error is after line 2: ${err.field}`);
    const dup = write('dup.yaml', 'name: a\nport: 1\nname: b\n');
    assertConfigError(() => readConfigFile(dup), { file: dup, field: 'line 3' });
  });

  test('an empty file is an empty object', () => {
    assert.deepEqual(readConfigFile(write('empty.yaml', '')), {});
    assert.deepEqual(readConfigFile(write('comments.yaml', '# nothing yet\n')), {});
  });

  test('JSON files load too', () => {
    const file = write('edge.json', JSON.stringify(GOOD, null, 2));
    assert.deepEqual(readConfigFile(file), GOOD);
    assert.deepEqual(loadConfig(file, Schema), { ...GOOD, port: 5060 });
  });
});

describe('applyEnvOverrides', () => {
  const OVERRIDES: EnvOverride[] = [
    { variable: 'SB_NAME', path: ['name'] },
    { variable: 'SB_PORT', path: ['port'], parse: Number },
    { variable: 'SB_NATS', path: ['nats', 'servers'], parse: (s) => s.split(',') },
    { variable: 'SB_DEEP', path: ['a', 'b', 'c'] },
  ];

  test('sets nested fields, creating the objects on the way, and leaves the input unmodified', () => {
    const raw = { name: 'file', port: 1, nats: { servers: ['nats://x:4222'] }, trunks: [] };
    const snapshot = structuredClone(raw);
    const out = applyEnvOverrides(raw, OVERRIDES, { SB_NAME: 'env', SB_PORT: '5070', SB_NATS: 'nats://a:4222,nats://b:4222', SB_DEEP: 'd' });
    assert.deepEqual(out, { name: 'env', port: 5070, nats: { servers: ['nats://a:4222', 'nats://b:4222'] }, trunks: [], a: { b: { c: 'd' } } });
    assert.deepEqual(raw, snapshot);
    assert.notEqual((out as typeof raw).nats, raw.nats);
  });

  test('unset and empty variables change nothing', () => {
    const raw = { name: 'file', nats: { servers: ['n'] } };
    assert.deepEqual(applyEnvOverrides(raw, OVERRIDES, { SB_NAME: '' }), raw);
    assert.deepEqual(applyEnvOverrides(undefined, OVERRIDES, {}), {});
  });

  test('a scalar in the way of a nested path is replaced by an object', () => {
    assert.deepEqual(applyEnvOverrides({ a: 5 }, OVERRIDES, { SB_DEEP: 'x' }), { a: { b: { c: 'x' } } });
  });

  test('a file that is a scalar is left for validation to refuse, not crashed on', () => {
    const file = write('scalar.yaml', 'just some text\n');
    assertConfigError(() => loadConfig(file, Schema, OVERRIDES, { SB_NAME: 'x' }), { file, field: '(top level)' });
  });
});

describe('loadConfig', () => {
  test('reads YAML, applies the env, validates and names the file on failure', () => {
    const file = write('edge.yaml', 'name: edge\ntrunks:\n  - id: t0\n    routing:\n      - { prefix: "+1", target: a }\n');
    const env = { SB_PORT: '5080' };
    const overrides: EnvOverride[] = [{ variable: 'SB_PORT', path: ['port'], parse: Number }];
    assert.equal(loadConfig(file, Schema, overrides, env).port, 5080);
    assertConfigError(() => loadConfig(file, Schema, overrides, { SB_PORT: 'abc' }), { file, field: 'port' });
  });

  test('the field path of an error deep in a YAML file', () => {
    const file = write(
      'deep.yaml',
      'name: edge\ntrunks:\n  - { id: t0, routing: [] }\n  - { id: t1, routing: [] }\n  - id: t2\n    routing:\n      - { prefix: "12x", target: a }\n',
    );
    assertConfigError(() => loadConfig(file, Schema), { file, field: 'trunks[2].routing[0].prefix' });
  });
});
