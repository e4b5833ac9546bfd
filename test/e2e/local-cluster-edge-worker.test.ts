// ./scripts/start --layout edge-worker: the local cluster in the layout README "Process layout"
// recommends for one small machine — the transport node and worker w1 in one process
// (switchboard-edge-worker, each half its own NATS user), w2 in its own — supervised like the
// separate layout (local-cluster.test.ts): its calls go through the process's own worker, a
// kill -9 of it is restarted and serves again while the rest runs on, SIGINT stops all.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { decodeMap, natsInboxPrefix, Subjects } from '@switchboard/wire';
import {
  adminPassword, alive, DIALLED, interruptLocalCluster, LOCAL_CLUSTER_SCRIPT, names, only, startLocalCluster, until, WAIT_MS, type LocalCluster,
} from '../support/local-cluster.js';
import { repoRoot } from '../support/paths.js';

const NAMES = ['carrier', 'cdr-web', 'edge-worker:w1', 'nats', 'w2'];

describe('./scripts/start --layout edge-worker: transport and w1 in one process, w2 apart', () => {
  let cluster: LocalCluster;
  const explained = (step: () => Promise<void>) => cluster.explained(step);
  /** What the transport half counts of the SIP it handed to its own worker (`colocated`, README "Process layout"). */
  const colocated = async () => {
    const nc = await connect({ servers: cluster.natsUrl, user: 'admin', pass: adminPassword(cluster.dataDir), inboxPrefix: natsInboxPrefix('admin') });
    try {
      const reply = await nc.request(Subjects.transportStats('t1'), new Uint8Array(0), { timeout: 5_000 });
      return (decodeMap(reply.data) as { colocated?: { workerId: string; handedOver: number } }).colocated;
    } finally {
      await nc.close();
    }
  };
  /** A call from the PBX through the edge-worker (at `via`) to the demo carrier; resolves with the SIP handed over for it. */
  const callThrough = async (via = cluster.edge) => {
    const before = (await colocated())?.handedOver ?? 0;
    const call = cluster.pbx.call({ to: DIALLED, via });
    await call.established;
    await call.hangup();
    const after = await colocated();
    assert.equal(after?.workerId, 'w1', 'the transport half hands SIP to w1 in its process');
    return (after?.handedOver ?? 0) - before;
  };

  before(async () => {
    cluster = await startLocalCluster(['--layout', 'edge-worker'], 'edge-worker');
  });

  after(() => cluster?.stop());

  test('nats, the edge-worker (t1 + w1), w2, the CDR page and the demo carrier; a call goes through the process\'s own worker', () => explained(async () => {
    assert.deepEqual(names(cluster.children()), NAMES);
    assert.ok(cluster.script.lines.some((l) => l.text.includes('(layout edge-worker)')), 'the start names its layout');
    // the INVITE, its ACK, the BYE from the PBX and the carrier's responses at least: none crossed NATS
    const handed = await callThrough();
    assert.ok(handed >= 6, `SIP of the call handed over in the process: ${handed}`);
  }));

  test('the edge-worker killed with SIGKILL is started again and serves calls; w2 and nats-server keep running', () => explained(async () => {
    const before = cluster.children();
    const edgeWorker = only(before, 'edge-worker:w1');
    const w1StartedAt = cluster.heartbeats.latest.get('w1')?.startedAt ?? assert.fail('no heartbeat of w1');
    const exitsBefore = cluster.exits().length;
    const linesBefore = cluster.script.lines.length;
    const since = (l: { text: string }) => cluster.script.lines.indexOf(l as never) >= linesBefore;

    process.kill(edgeWorker.pid, 'SIGKILL');

    await cluster.script.waitFor((l) => /^\[edge-worker\] exited \(signal SIGKILL\) after [\d.]+ s; restarting in \d+ ms$/.test(l.text), WAIT_MS);
    const restarted = await until('a new edge-worker', () => cluster.children().find((c) => c.name === 'edge-worker:w1' && c.pid !== edgeWorker.pid));
    await until('a heartbeat of the new w1', () => {
      const h = cluster.heartbeats.latest.get('w1');
      return h !== undefined && h.startedAt > w1StartedAt && h.state === 'active' ? h : undefined;
    });
    // the new transport half listens again and knows both workers: the PBX's next call goes through it (the
    // test's configuration asks for ports of the system's choosing, so they are read again from the new process)
    const listening = await cluster.script.waitFor((l) => since(l) && l.text.startsWith('[edge-worker] transport node listening'), WAIT_MS);
    const udp = /"protocol":"udp","address":"[\d.]+","port":(\d+)/.exec(listening.text) ?? assert.fail(`no UDP listener in: ${listening.text}`);
    for (const id of ['w1', 'w2']) {
      await cluster.script.waitFor((l) => since(l) && l.text.startsWith('[edge-worker]') && l.text.includes('"event":"worker"') && l.text.includes(`"worker":"${id}"`), WAIT_MS);
    }
    assert.ok((await callThrough({ host: '127.0.0.1', port: Number(udp[1]) })) >= 6);
    for (const c of before) if (c.pid !== edgeWorker.pid) assert.ok(alive(c.pid), `${c.name} (pid ${c.pid}) still runs`);
    assert.deepEqual(names(cluster.children()), NAMES);
    assert.equal(cluster.exits().length, exitsBefore + 1, `only the edge-worker exited: ${cluster.exits().join('; ')}`);
    assert.ok(alive(restarted.pid));
  }));

  test('SIGINT stops every process within 10 s and starts none again', () => explained(async () => {
    assert.deepEqual(names(cluster.children()), NAMES);
    await interruptLocalCluster(cluster);
  }));
});

test('./scripts/start --layout with anything but separate or edge-worker stops with the usage, naming the layout', async () => {
  const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, [LOCAL_CLUSTER_SCRIPT, '--layout', 'single'], { cwd: repoRoot, timeout: 30_000 }, (error, _out, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stderr });
    });
  });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /usage: \.\/scripts\/start \[--from-file\] \[--layout separate\|edge-worker\] {2}\(layout "single": not one of separate, edge-worker\)/);
});
