// A command loads its own group's module and what that needs, nothing else (issue 20: a run of
// `workers ls` was mostly module loading). The built CLI is run with testing/module-trace.ts,
// which lists every module file the run loads, against a NATS server that is not there (the
// modules are loaded before it connects; exit 3).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '@switchboard/testkit';
import { Command } from 'commander';
import { addGlobalOptions } from './global-options.js';
import { chosenGroup, COMMAND_GROUPS } from './program.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const TRACE = new URL('./testing/module-trace.js', import.meta.url).href;
/** The test's environment without an operator's NATS settings, which would change what the CLI connects to. */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SWITCHBOARD_NATS_')));
const GROUPS = Object.keys(COMMAND_GROUPS);
/** What the admin commands need not load: the requests' schemas (zod), CDRs, trunk files, JetStream, the services framework. */
const HEAVY = /\/node_modules\/(?:zod|yaml|@nats-io\/jetstream|@nats-io\/services)\/|\/packages\/cdr\//;

/** The module files a run of the CLI loaded, and its exit code. */
function modulesLoadedBy(args: readonly string[]): Promise<{ code: number; modules: string[] }> {
  const trace = join(mkdtempSync(join(tmpdir(), 'switchboard-modules-')), 'trace');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', TRACE, MAIN, ...args], { env: { ...ENV, SWITCHBOARD_MODULE_TRACE: trace }, timeout: 30_000 }, (error) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      const code = error === null ? 0 : Number(error.code);
      resolve({ code, modules: [...new Set(readFileSync(trace, 'utf8').split('\n').filter((l) => l !== ''))] });
    });
  });
}

const groupsIn = (modules: readonly string[]) => GROUPS.filter((g) => modules.some((m) => m.endsWith(`/dist/commands/${g}.js`)));

describe('switchboard loads only the command group it runs', () => {
  it('--help loads every group (it lists them all)', async () => {
    const { code, modules } = await modulesLoadedBy(['--help']);
    assert.equal(code, 0);
    assert.deepEqual(groupsIn(modules), GROUPS);
  });

  it('workers ls, calls ls, stats, calls show: their own group, without the schemas, CDRs, YAML, JetStream', { timeout: 60_000 }, async () => {
    const server = `nats://127.0.0.1:${await freePort()}`;
    const commands: [string[], string][] = [[['workers', 'ls'], 'workers'], [['calls', 'ls'], 'calls'], [['stats'], 'stats'], [['calls', 'show', '00000000ffffffff'], 'calls']];
    for (const [args, group] of commands) {
      const { code, modules } = await modulesLoadedBy(['--server', server, '--timeout', '1000', ...args]);
      assert.equal(code, 3, `${args.join(' ')}: cannot connect`);
      assert.deepEqual(groupsIn(modules), [group], args.join(' '));
      assert.deepEqual(modules.filter((m) => HEAVY.test(m)), [], args.join(' '));
    }
  });

  it('help <group> and a group after the global options load that group alone', async () => {
    assert.deepEqual(groupsIn((await modulesLoadedBy(['help', 'cdr'])).modules), ['cdr']);
    assert.deepEqual(groupsIn((await modulesLoadedBy(['--json', '--timeout', '5s', 'trunks', 'ls', '--help'])).modules), ['trunks']);
  });
});

describe('chosenGroup: the group commander will run, read from the command line before it is parsed', () => {
  const program = new Command('switchboard').version('0.0.0', '-V, --version');
  addGlobalOptions(program);
  const chosen = (...argv: string[]) => chosenGroup(program, argv);

  it('the first operand after the global options and their values', () => {
    assert.equal(chosen('calls', 'ls'), 'calls');
    assert.equal(chosen('--server', 'nats://127.0.0.1:4222', '--json', 'stats'), 'stats');
    assert.equal(chosen('--server=nats://127.0.0.1:4222', 'cdr', 'ls'), 'cdr');
    assert.equal(chosen('--user', 'calls', '--password', 'trunks', 'workers', 'ls'), 'workers');
    assert.equal(chosen('help', 'trunks'), 'trunks');
  });

  it('none (every group is loaded) for the program help, an unknown option, or an operand that is no group', () => {
    for (const argv of [[], ['--help', 'calls'], ['-h'], ['help'], ['--bogus', 'calls', 'ls'], ['frobnicate'], ['help', 'frobnicate'], ['--', 'calls']]) {
      assert.equal(chosen(...argv), undefined, argv.join(' '));
    }
  });
});
