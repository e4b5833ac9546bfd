// The command line run in-process: every case here is refused before anything connects to NATS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT_CODES } from './exit-codes.js';
import { runCli } from './program.js';

// Commander reads the options' variables from process.env: start from none of them.
for (const name of Object.keys(process.env)) if (name.startsWith('SWITCHBOARD_NATS_')) delete process.env[name];

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { io: { out: (t) => (out += t), err: (t) => (err += t) }, now: () => Date.UTC(2025, 0, 31, 14) });
  return { code, out, err };
}

async function assertUsage(argv: string[], message: RegExp): Promise<void> {
  const { code, out, err } = await run(...argv);
  assert.equal(code, EXIT_CODES.usage, argv.join(' '));
  assert.equal(out, '', argv.join(' '));
  assert.match(err, /^switchboard: /, argv.join(' '));
  assert.match(err, message, argv.join(' '));
}

describe('switchboard option errors: exit 1, naming the option and why', () => {
  it('a bad --since, --until, --limit or --timeout value', async () => {
    await assertUsage(['cdr', 'ls', '--since', '2x'], /option '--since <when>' argument '2x' is invalid\. Expected a duration ago/);
    await assertUsage(['cdr', 'ls', '--until', 'yesterday'], /'--until <when>' argument 'yesterday' is invalid/);
    await assertUsage(['cdr', 'list', '--limit', '5000'], /'--limit <n>' argument '5000' is invalid\. Expected a whole number from 1 to 1000/);
    await assertUsage(['--timeout', '0', 'cdr', 'ls'], /'--timeout <ms>' argument '0' is invalid/);
    await assertUsage(['cdr', 'ls', '--server', 'http://nats.example'], /'--server <url>' argument 'http:\/\/nats\.example' is invalid/);
  });

  it('a value the workers would refuse, caught here by their own schema', async () => {
    await assertUsage(['cdr', 'ls', '--call', 'xyz'], /^switchboard: --call: expected 16 hex digits\n$/);
    await assertUsage(['cdr', 'ls', '--trunk', 'no such trunk!'], /^switchboard: --trunk: expected a trunk id\n$/);
    await assertUsage(['cdr', 'show', 'not-a-record'], /^switchboard: record id: expected <call id>-<n>\n$/);
  });

  it('a window that ends before it starts', async () => {
    await assertUsage(['cdr', 'ls', '--since', '1h', '--until', '2h'], /^switchboard: --until: earlier than --since\n$/);
  });

  it('two ways to log in, or credentials that cannot be read', async () => {
    await assertUsage(['--creds', '/nonexistent.creds', '--user', 'ops', 'cdr', 'ls'], /--creds: cannot be combined with --user\/--password/);
    await assertUsage(['--creds', '/nonexistent.creds', 'cdr', 'ls'], /--creds: cannot read \/nonexistent\.creds: ENOENT/);
    await assertUsage(['--password', 'x', 'cdr', 'ls'], /--password: needs --user/);
  });

  it('a bad value from the environment, naming the variable', async () => {
    process.env['SWITCHBOARD_NATS_URL'] = 'http://nats.example';
    try {
      await assertUsage(['cdr', 'ls'], /'--server <url>' value 'http:\/\/nats\.example' from env 'SWITCHBOARD_NATS_URL' is invalid/);
    } finally {
      delete process.env['SWITCHBOARD_NATS_URL'];
    }
  });

  it('a user and password from the environment give way to --creds', async () => {
    process.env['SWITCHBOARD_NATS_USER'] = 'ops';
    process.env['SWITCHBOARD_NATS_PASSWORD'] = 'secret';
    try {
      await assertUsage(['--creds', '/nonexistent.creds', 'cdr', 'ls'], /--creds: cannot read/);
    } finally {
      delete process.env['SWITCHBOARD_NATS_USER'];
      delete process.env['SWITCHBOARD_NATS_PASSWORD'];
    }
  });

  it('an unknown command or option, a missing argument', async () => {
    await assertUsage(['cdr', 'frobnicate'], /unknown command 'frobnicate'/);
    await assertUsage(['cdr', 'ls', '--bogus'], /unknown option '--bogus'/);
    await assertUsage(['cdr', 'show'], /missing required argument 'recordId'/);
  });
});

describe('switchboard admin commands: bad arguments exit 1 before anything connects', () => {
  it('a call id, worker id or transfer target that is not one', async () => {
    await assertUsage(['calls', 'show', 'xyz'], /value 'xyz' is invalid for argument 'id'\. Expected a call id \(16 hex digits/);
    await assertUsage(['calls', 'hangup', '1A2B3C4D0'], /is invalid for argument 'id'/);
    await assertUsage(['calls', 'transfer', '000000001a2b3c4d', 'desk'], /value 'desk' is invalid for argument 'target'\. Expected a number/);
    await assertUsage(['calls', 'transfer', '000000001a2b3c4d'], /missing required argument 'target'/);
    await assertUsage(['calls', 'ls', '--worker', 'w.1'], /'--worker <worker>' argument 'w\.1' is invalid\. Expected a worker id/);
    await assertUsage(['workers', 'drain', 'w-1'], /value 'w-1' is invalid for argument 'id'/);
  });

  it('a filter the workers would refuse, caught here by their own schema', async () => {
    await assertUsage(['calls', 'ls', '--trunk', 'no such trunk!'], /^switchboard: --trunk: expected a trunk id\n$/);
    await assertUsage(['calls', 'ls', '--state', 'x'.repeat(21)], /^switchboard: --state: /);
  });

  it('a --watch interval out of range', async () => {
    await assertUsage(['stats', '--watch', '10ms'], /'--watch \[interval\]' argument '10ms' is invalid\. Expected seconds/);
  });

  it('trunks set without path=value, trunks apply without a readable trunks file', async () => {
    await assertUsage(['trunks', 'set', 'acme'], /missing required argument 'path=value'/);
    await assertUsage(['trunks', 'set', 'acme', 'transfer.mode'], /^switchboard: "transfer\.mode": expected <path>=<value>/);
    await assertUsage(['trunks', 'set', 'acme', '__proto__.polluted=1'], /__proto__ is not a field/);
    await assertUsage(['trunks', 'apply'], /required option '-f, --file <file>' not specified/);
    await assertUsage(['trunks', 'apply', '-f', '/nonexistent/trunks.yaml'], /^switchboard: --file: cannot read \/nonexistent\/trunks\.yaml: ENOENT\n$/);
    await assertUsage(['trunks', 'apply', '-f', '/work/does-not-matter', '--revision', '-1'], /'--revision <n>' argument '-1' is invalid/);
  });
});

describe('switchboard --help', () => {
  it('lists the commands, the global options and what each exit code means', async () => {
    const { code, out } = await run('--help');
    assert.equal(code, EXIT_CODES.ok);
    for (const text of ['calls', 'workers', 'trunks', 'stats', 'cdr', '--server <url>', '--user <user>', '--password <password>', '--creds <file>', '--timeout <ms>', '--json', 'Exit codes:']) {
      assert.ok(out.includes(text), text);
    }
    for (const n of [0, 1, 2, 3, 4, 5]) assert.match(out, new RegExp(`^ {2}${n} {2}\\w`, 'm'));
  });

  it('works on every command, with the global options and the exit codes', async () => {
    const commands = [
      ['cdr'], ['cdr', 'ls'], ['cdr', 'show'], ['calls'], ['calls', 'ls'], ['calls', 'show'], ['calls', 'hangup'], ['calls', 'transfer'],
      ['workers'], ['workers', 'ls'], ['workers', 'drain'], ['trunks'], ['trunks', 'ls'], ['trunks', 'show'], ['trunks', 'set'], ['trunks', 'apply'], ['stats'],
    ];
    for (const argv of [...commands.map((c) => [...c, '--help']), ['help', 'cdr'], ['help', 'calls'], ['calls', 'help', 'transfer']]) {
      const { code, out, err } = await run(...argv);
      assert.equal(code, EXIT_CODES.ok, `${argv.join(" ")}: ${err}`);
      assert.ok(out.includes('Global Options:') && out.includes('Exit codes:'), argv.join(' '));
    }
    assert.ok((await run('cdr', 'ls', '--help')).out.includes('--since <when>'));
    assert.ok((await run('calls', 'ls', '--help')).out.includes('--trunk <trunk>'));
    assert.ok((await run('stats', '--help')).out.includes('--watch [interval]'));
    assert.ok((await run('trunks', 'apply', '--help')).out.includes('-f, --file <file>'));
    assert.match((await run('trunks', 'set', '--help')).out, /Examples:\n {2}switchboard trunks set acme transfer\.mode=sip-only/);
  });
});
