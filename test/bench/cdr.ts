// CDR benchmark: the path of a call's records after it ends — spool (appended to its journal,
// one fdatasync per group) → JetStream stream SB_CDR (file storage, Nats-Msg-Id) → confirmed —
// and the NATS query that reads them back, against a real nats-server on this machine.
// Prints records/s confirmed, emit→confirmed latency percentiles at a steady rate, and the
// query's time for the last hour of records.
// Usage: node test/dist/bench/cdr.js [records=20000] [steadyPerSecond=1000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { CdrClient, CdrPublisher, CdrQueryService, CdrSpool, ensureCdrStream, jetStreamPublish, type CallDetailRecord, type PublishRecord } from '@switchboard/cdr';
import { startNatsServer } from '@switchboard/testkit';

const total = Number(process.argv[2] ?? 20_000);
const steadyPerSecond = Number(process.argv[3] ?? 1_000);

function record(i: number, n = 0): CallDetailRecord {
  const callId = i.toString(16).padStart(16, '0');
  const at = Date.now();
  return {
    v: 1, id: `${callId}-${n}`, callId, worker: 'w1', trunk: 'acme', direction: 'termination', kind: 'pstn', billable: true,
    ...(n > 0 ? { parentId: `${callId}-0`, referTo: 'sip:+14155552000@acme.trunks.example', referredBy: '+12125550100' } : {}),
    from: { received: '+12125550100', normalised: '+12125550100' }, to: { received: '4155551234', normalised: '+14155551234' },
    carrier: 'demo-pstn', carriersTried: ['demo-pstn'],
    legs: [{ leg: 'a', sipCallId: `pbx-${i}@pbx.example.com`, role: 'caller' }, { leg: 'b1', sipCallId: `0123456789abcdef${callId}@w1`, role: 'callee' }],
    startedAt: at - 61_000, ringingAt: at - 60_500, answeredAt: at - 60_000, endedAt: at, duration: 61, billableSeconds: 60,
    disposition: 'answered', status: 200, statusText: 'OK', endedBy: 'caller',
  };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

const nats = await startNatsServer();
const nc = await connect({ servers: nats.url });
const dir = await mkdtemp(join(tmpdir(), 'cdr-bench-'));
try {
  await ensureCdrStream(await jetstreamManager(nc), { maxAgeMs: 86_400_000, duplicateWindowMs: 3_600_000, replicas: 1 });
  const confirmed = new Map<string, number>();
  const js = jetStreamPublish(jetstream(nc), 5_000);
  const publish: PublishRecord = async (subject, data, id) => {
    const ack = await js(subject, data, id);
    confirmed.set(id, performance.now());
    return ack;
  };
  const publisher = new CdrPublisher({ spool: new CdrSpool(dir), publish });
  await publisher.start();
  const waitDrained = async () => {
    while (publisher.pending > 0) await new Promise((r) => setTimeout(r, 5));
  };

  // 1. as fast as it goes: calls ending in bursts of 50 (a call and its transfer every other call)
  let i = 0;
  const t0 = performance.now();
  while (i < total) {
    const batch: CallDetailRecord[] = [];
    for (let k = 0; k < 50 && i < total; k++, i++) batch.push(...(i % 2 === 0 ? [record(i)] : [record(i), record(i, 1)]));
    publisher.emit(batch);
    if (publisher.pending > 5_000) await new Promise((r) => setTimeout(r, 1));
  }
  await waitDrained();
  const burstSeconds = (performance.now() - t0) / 1000;
  const burstRecords = publisher.published;
  console.log(`CDR benchmark: spool → JetStream (file) on this machine, ${total} calls`);
  console.log(`  as fast as it goes            ${Math.round(burstRecords / burstSeconds)} records/s confirmed (${burstRecords} in ${burstSeconds.toFixed(1)} s)`);

  // 2. a steady rate: emit → confirmed latency
  const emitted = new Map<string, number>();
  const steadyCount = steadyPerSecond * 5;
  const start = performance.now();
  for (let k = 0; k < steadyCount; k++) {
    const due = start + (k * 1000) / steadyPerSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const r = record(total + k);
    emitted.set(r.id, performance.now());
    publisher.emit([r]);
  }
  await waitDrained();
  const latencies = [...emitted].map(([id, at]) => (confirmed.get(id) ?? NaN) - at).sort((a, b) => a - b);
  console.log(`  ${steadyPerSecond} records/s for 5 s        emit→confirmed p50 ${pct(latencies, 50).toFixed(1)} ms · p99 ${pct(latencies, 99).toFixed(1)} ms`);

  // 3. the query, as the CLI and the page ask it
  const service = new CdrQueryService(nc, jetstream(nc));
  service.start();
  const client = new CdrClient(nc, 30_000);
  const info = await (await jetstreamManager(nc)).streams.info('SB_CDR');
  for (const [name, query] of [['last hour, latest 200', { trunk: 'acme' }], ['last hour, latest 1000', { trunk: 'acme', limit: 1000 }], ['one call\'s chain', { callId: (total - 1).toString(16).padStart(16, '0') }]] as const) {
    const runs: number[] = [];
    for (let k = 0; k < 5; k++) {
      const q0 = performance.now();
      await client.query(query);
      runs.push(performance.now() - q0);
    }
    runs.sort((a, b) => a - b);
    console.log(`  query: ${name.padEnd(24)} median ${pct(runs, 50).toFixed(0)} ms over ${info.state.messages} stored records`);
  }
  await service.stop();
  await publisher.close();
} finally {
  await nc.close();
  await nats.stop();
  await rm(dir, { recursive: true, force: true });
}
