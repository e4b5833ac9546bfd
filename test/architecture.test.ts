// The architecture's rules, checked on the repository itself; and each check run on a small
// tree that breaks its rule, so a check that can no longer fail is noticed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  deepImports, impureImports, longFiles, MAX_LINES, packageCycles, sourceImportCycles, type Cycle, type ImportViolation, type LongFile,
} from './support/architecture.js';
import { repoRoot } from './support/paths.js';

/** Each cycle as one loop to follow, then, when the component is larger than the loop, every import inside it. */
function cycles(found: Cycle[], what: string): string {
  return `${what}: ${found.length}\n${found.map((c) => {
    const within = c.members.length > c.loop.length - 1 ? c.members.map((m) => `\n      ${m} → ${(c.edges[m] ?? []).join(', ')}`).join('') : '';
    return `  ${c.loop.join(' → ')}${within === '' ? '' : `\n    the ${c.members.length} files of this knot and their imports within it:${within}`}`;
  }).join('\n')}`;
}

function imports(found: ImportViolation[], what: string): string {
  return `${what}: ${found.length}\n${found.map((v) => `  ${v.file}: '${v.specifier}'`).join('\n')}`;
}

function long(found: LongFile[]): string {
  return `files over ${MAX_LINES} lines (or say why in the first 5 lines: "// over ${MAX_LINES} lines: <reason>"): ${found.length}\n${found.map((f) => `  ${f.file}: ${f.lines} lines`).join('\n')}`;
}

describe('architecture of the repository', () => {
  it('has no import cycle among the source files of a package', () => {
    const found = sourceImportCycles(repoRoot);
    assert.equal(found.length, 0, cycles(found, 'import cycles'));
  });

  it('has no cycle among the workspace packages, and no import into another package past its face', () => {
    const cyclic = packageCycles(repoRoot);
    assert.equal(cyclic.length, 0, cycles(cyclic, 'package dependency cycles'));
    const deep = deepImports(repoRoot);
    assert.equal(deep.length, 0, imports(deep, 'imports into another package past its exports'));
  });

  it(`has no file in packages/*/src over ${MAX_LINES} lines that does not say why`, () => {
    const found = longFiles(repoRoot);
    assert.equal(found.length, 0, long(found));
  });

  it('keeps the pure packages (sip, transactions, trunking) free of I/O, NATS, nact, pino and the config loader', () => {
    const found = impureImports(repoRoot);
    assert.equal(found.length, 0, imports(found, 'impure imports'));
  });
});

describe('architecture checks, on a tree that breaks every rule', () => {
  let root: string;
  const write = (path: string, text: string): void => {
    mkdirSync(join(root, dirname(path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const pkg = (dir: string, name: string, dependencies: Record<string, string> = {}, exports: unknown = { '.': './dist/mod.js' }): void =>
    write(`${dir}/package.json`, JSON.stringify({ name, dependencies, exports }));

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'architecture-'));
    pkg('packages/sip', '@switchboard/sip');
    pkg('packages/engine', '@switchboard/engine', { '@switchboard/sip': 'workspace:*', '@switchboard/cdr': 'workspace:*' });
    pkg('packages/cdr', '@switchboard/cdr', { '@switchboard/engine': 'workspace:*' }, { '.': './dist/mod.js', './testing': './dist/testing.js' });
    pkg('test', '@switchboard/tests', { '@switchboard/engine': 'workspace:*' });
    // a cycle through a type-only import, split over lines; a self-import; and a chain that is no cycle
    write('packages/engine/src/call.ts', "import type {\n  Leg,\n} from './dialog/leg.js';\nexport const call = 1;\n");
    write('packages/engine/src/dialog/leg.ts', "import { call } from '../call.js';\nexport type Leg = typeof call;\n");
    write('packages/engine/src/self.ts', "export * from './self.js';\n");
    write('packages/engine/src/mod.ts', "export { call } from './call.js';\n// import { x } from './router.js'\nexport const text = \"import './router.js'\";\n");
    write('packages/engine/src/router.ts', "import { call } from './call.js';\nimport { text } from './mod.js';\n");
    // tests may import in circles (and are no part of the graph)
    write('packages/engine/src/call.test.ts', "import { call } from './call.js';\n");
    write('packages/engine/src/harness.test.ts', "import './call.test.js';\n");
    // past the face: a subpath not exported, a relative path out of the package; an exported subpath is fine
    write('packages/engine/src/records.ts', "import { a } from '@switchboard/cdr/src/cdr-actor.js';\nimport { b } from '../../cdr/src/b.js';\nimport { c } from '@switchboard/cdr/testing';\nimport { d } from '@switchboard/cdr';\n");
    write('test/e2e/calls.test.ts', "import { e } from '@switchboard/engine/dist/mod.js';\nimport { repoRoot } from '../support/paths.js';\n");
    // long: one line over, one line under, and one that says why
    const lines = (n: number): string => 'export const x = 1;\n'.repeat(n);
    write('packages/engine/src/long.ts', lines(MAX_LINES + 1));
    write('packages/engine/src/just-fits.ts', lines(MAX_LINES));
    write('packages/engine/src/table.ts', `// RFC 3261 §21 response codes\n// over ${MAX_LINES} lines: one generated table, read by lookup, never by eye\n${lines(MAX_LINES + 20)}`);
    write('packages/engine/src/no-reason.ts', `// over ${MAX_LINES} lines:\n${lines(MAX_LINES + 1)}`);
    // impure: I/O in the pure package's source, in every spelling; its tests may use it
    write('packages/sip/src/parse.ts', "import { createSocket } from 'node:dgram';\nimport { readFile } from 'fs/promises';\nimport type { Logger } from 'pino';\nimport { connect } from '@nats-io/transport-node';\nimport { load } from '@switchboard/config';\nimport { Buffer } from 'node:buffer';\n");
    write('packages/sip/src/parse.test.ts', "import { readFileSync } from 'node:fs';\n");
    write('packages/engine/src/net.ts', "import { isIP } from 'node:net';\n");
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  it('finds each import cycle, type-only imports and self-imports included, tests and strings left out', () => {
    const found = sourceImportCycles(root);
    assert.deepEqual(found.map((c) => c.loop), [
      ['packages/engine/src/call.ts', 'packages/engine/src/dialog/leg.ts', 'packages/engine/src/call.ts'],
      ['packages/engine/src/self.ts', 'packages/engine/src/self.ts'],
    ]);
    assert.deepEqual(found[0]?.edges, { 'packages/engine/src/call.ts': ['packages/engine/src/dialog/leg.ts'], 'packages/engine/src/dialog/leg.ts': ['packages/engine/src/call.ts'] });
    assert.match(cycles(found, 'import cycles'), /^import cycles: 2\n {2}packages\/engine\/src\/call\.ts → packages\/engine\/src\/dialog\/leg\.ts → packages\/engine\/src\/call\.ts\n/);
  });

  it('finds a package cycle and each import past a package\'s exports', () => {
    assert.deepEqual(packageCycles(root).map((c) => c.members), [['@switchboard/cdr', '@switchboard/engine']]);
    assert.deepEqual(deepImports(root), [
      { file: 'packages/engine/src/records.ts', specifier: '@switchboard/cdr/src/cdr-actor.js' },
      { file: 'packages/engine/src/records.ts', specifier: '../../cdr/src/b.js' },
      { file: 'test/e2e/calls.test.ts', specifier: '@switchboard/engine/dist/mod.js' },
    ]);
  });

  it(`finds the files over ${MAX_LINES} lines, with their length, unless a comment at the top gives a reason`, () => {
    assert.deepEqual(longFiles(root), [
      { file: 'packages/engine/src/long.ts', lines: MAX_LINES + 1 },
      { file: 'packages/engine/src/no-reason.ts', lines: MAX_LINES + 2 },
    ]);
  });

  it('finds each impure import in a pure package\'s source, and only there', () => {
    assert.deepEqual(impureImports(root).map((v) => v.specifier), ['node:dgram', 'fs/promises', 'pino', '@nats-io/transport-node', '@switchboard/config']);
    assert.ok(impureImports(root).every((v) => v.file === 'packages/sip/src/parse.ts'));
  });
});
