// The built `switchboard` run as operators run it, against a real nats-server on which a fake
// worker answers the CDR query with canned records.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { CdrQuery, CdrQueryReply } from '@switchboard/cdr';
import { freePort, startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { Subjects } from '@switchboard/wire';
import { EXIT_CODES } from './exit-codes.js';
import { RECORDS } from './testing/cdr-records.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
/** The test's environment without an operator's NATS settings, which would change what the CLI connects to. */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SWITCHBOARD_NATS_')));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; one that has not exited after 30 s is killed, which fails the test (it must never hang). */
function switchboard(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: ENV });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(kill);
      if (signal !== null) reject(new Error(`switchboard ${args.join(' ')} did not exit (${signal}); stderr: ${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** A worker's answer to the CDR query, from the canned records; the trunks `refused` and `broken` fail. */
function answer(query: CdrQuery): CdrQueryReply {
  if (query.trunk === 'refused') return { ok: false, error: { code: 'bad-request', message: 'trunk: expected a trunk id' } };
  if (query.trunk === 'broken') return { ok: false, error: { code: 'internal', message: 'stream SB_CDR: no leader' } };
  let records = [...RECORDS];
  if (query.recordId !== undefined) {
    const call = records.find((r) => r.id === query.recordId)?.callId;
    records = records.filter((r) => r.callId === call);
  }
  if (query.callId !== undefined) records = records.filter((r) => r.callId === query.callId);
  if (query.trunk !== undefined) records = records.filter((r) => r.trunk === query.trunk);
  const limit = query.limit ?? 200;
  return { ok: true, records: records.slice(-limit), truncated: records.length > limit };
}

describe('switchboard cdr against a cluster', () => {
  let nats: NatsServerHandle;
  let worker: NatsConnection;
  let url: string;
  const queries: CdrQuery[] = [];

  before(async () => {
    nats = await startNatsServer();
    url = nats.url;
    worker = await connect({ servers: url });
    worker.subscribe(Subjects.cdrQuery, {
      callback: (_err: Error | null, msg: Msg) => {
        const query = JSON.parse(new TextDecoder().decode(msg.data)) as CdrQuery;
        queries.push(query);
        msg.respond(JSON.stringify(answer(query)));
      },
    });
    await worker.flush();
  });

  after(async () => {
    await worker?.close();
    await nats?.stop();
  });

  it('cdr ls prints a table, each referred call indented under its parent', async () => {
    const { code, stdout, stderr } = await switchboard('--server', url, 'cdr', 'ls', '--since', '1h');
    assert.equal(code, EXIT_CODES.ok, stderr);
    const lines = stdout.trimEnd().split('\n');
    for (const header of ['RECORD', 'STARTED', 'TRUNK', 'DIR', 'KIND', 'BILLABLE', 'FROM', 'TO', 'DISPOSITION', 'STATUS', 'DURATION', 'BILLED']) {
      assert.ok(lines[0]?.split(/\s+/).includes(header), header);
    }
    assert.deepEqual(lines.slice(1).map((l) => /^\s*(?:└ )?\S+/.exec(l)?.[0]), ['00000000b2c3d4e5-0', '00000000a1b2c3d4-0', '  └ 00000000a1b2c3d4-1', '      └ 00000000a1b2c3d4-2']);
    assert.equal(typeof queries.at(-1)?.since, 'number');
  });

  it('cdr ls --json prints one JSON array and nothing else', async () => {
    const { code, stdout } = await switchboard('--server', url, 'cdr', 'ls', '--trunk', 'acme', '--json');
    assert.equal(code, EXIT_CODES.ok);
    const records = JSON.parse(stdout) as { id: string; depth: number }[];
    assert.deepEqual(records.map((r) => [r.id, r.depth]), [['00000000a1b2c3d4-0', 0], ['00000000a1b2c3d4-1', 1], ['00000000a1b2c3d4-2', 2]]);
    assert.deepEqual(queries.at(-1), { trunk: 'acme' });
  });

  it('cdr ls says on stderr when more records matched than it shows', async () => {
    const { code, stdout, stderr } = await switchboard('--json', '--server', url, 'cdr', 'ls', '--limit', '1');
    assert.equal(code, EXIT_CODES.ok);
    assert.deepEqual((JSON.parse(stdout) as { id: string }[]).map((r) => r.id), ['00000000a1b2c3d4-0']);
    assert.match(stderr, /^switchboard: more records matched than the 1 shown/);
  });

  it('cdr show prints the record and its chain, --json as {record, chain}', async () => {
    const text = await switchboard('--server', url, 'cdr', 'show', '00000000a1b2c3d4-1');
    assert.equal(text.code, EXIT_CODES.ok, text.stderr);
    assert.match(text.stdout, /^id: +00000000a1b2c3d4-1$/m);
    assert.match(text.stdout, /^parentId: +00000000a1b2c3d4-0$/m);
    assert.match(text.stdout, /^ {2}\* +└ 00000000a1b2c3d4-1 /m);
    const json = await switchboard('--server', url, 'cdr', 'show', '00000000a1b2c3d4-1', '--json');
    assert.equal(json.code, EXIT_CODES.ok);
    const parsed = JSON.parse(json.stdout) as { record: { id: string }; chain: { id: string; depth: number }[] };
    assert.equal(parsed.record.id, '00000000a1b2c3d4-1');
    assert.deepEqual(parsed.chain.map((r) => r.id), ['00000000a1b2c3d4-0', '00000000a1b2c3d4-1', '00000000a1b2c3d4-2']);
  });

  it('cdr show of an unknown record exits 2', async () => {
    const { code, stdout, stderr } = await switchboard('--server', url, 'cdr', 'show', '00000000ffffffff-0');
    assert.equal(code, EXIT_CODES['not-found']);
    assert.equal(stdout, '');
    assert.equal(stderr, 'switchboard: no record 00000000ffffffff-0\n');
  });

  it('cdr ls --call of a call with no records exits 2 (not found), as cdr show does; an empty window exits 0', async () => {
    for (const json of [[], ['--json']]) {
      const unknown = await switchboard('--server', url, 'cdr', 'ls', '--call', '00000000ffffffff', ...json);
      assert.equal(unknown.code, EXIT_CODES['not-found'], unknown.stderr);
      assert.equal(unknown.stdout, '');
      assert.equal(unknown.stderr, 'switchboard: no records of call 00000000ffffffff\n');
    }
    const empty = await switchboard('--server', url, 'cdr', 'ls', '--trunk', 'initech');
    assert.equal(empty.code, EXIT_CODES.ok);
    assert.equal(empty.stderr, 'switchboard: no records matched\n');
  });

  it('a query the workers refuse exits 4, one they fail on exits 5', async () => {
    const refused = await switchboard('--server', url, 'cdr', 'ls', '--trunk', 'refused');
    assert.equal(refused.code, EXIT_CODES.refused);
    assert.equal(refused.stderr, 'switchboard: the cluster refused the query: trunk: expected a trunk id\n');
    const broken = await switchboard('--server', url, 'cdr', 'ls', '--trunk', 'broken', '--json');
    assert.equal(broken.code, EXIT_CODES.internal);
    assert.equal(broken.stdout, '');
    assert.match(broken.stderr, /^switchboard: stream SB_CDR: no leader\n$/);
  });

  it('no NATS listening exits 3', async () => {
    const port = await freePort();
    const { code, stdout, stderr } = await switchboard('--server', `nats://127.0.0.1:${port}`, '--timeout', '2000', 'cdr', 'ls');
    assert.equal(code, EXIT_CODES.unavailable);
    assert.equal(stdout, '');
    assert.match(stderr, new RegExp(`^switchboard: cannot connect to NATS at nats://127\\.0\\.0\\.1:${port}: `));
  });

  it('NATS without a worker answering exits 3', async () => {
    const empty = await startNatsServer();
    try {
      const { code, stderr } = await switchboard('--server', empty.url, '--timeout', '2000', 'cdr', 'show', '00000000a1b2c3d4-0');
      assert.equal(code, EXIT_CODES.unavailable);
      assert.match(stderr, /^switchboard: no CDR query answered on sb\.cdr\.query: /);
    } finally {
      await empty.stop();
    }
  });
});
