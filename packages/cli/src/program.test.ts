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
    await assertUsage(['cdr', 'ls', '--call', 'xyz'], /^switchboard: --call: expected 8 hex digits\n$/);
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

describe('switchboard --help', () => {
  it('lists the commands, the global options and what each exit code means', async () => {
    const { code, out } = await run('--help');
    assert.equal(code, EXIT_CODES.ok);
    for (const text of ['cdr', '--server <url>', '--user <user>', '--password <password>', '--creds <file>', '--timeout <ms>', '--json', 'Exit codes:']) {
      assert.ok(out.includes(text), text);
    }
    for (const n of [0, 1, 2, 3, 4, 5]) assert.match(out, new RegExp(`^ {2}${n} {2}\\w`, 'm'));
  });

  it('works on every command, with the global options and the exit codes', async () => {
    for (const argv of [['cdr', '--help'], ['cdr', 'ls', '--help'], ['cdr', 'show', '--help'], ['help', 'cdr']]) {
      const { code, out } = await run(...argv);
      assert.equal(code, EXIT_CODES.ok, argv.join(' '));
      assert.ok(out.includes('Global Options:') && out.includes('Exit codes:'), argv.join(' '));
    }
    assert.ok((await run('cdr', 'ls', '--help')).out.includes('--since <when>'));
  });
});
