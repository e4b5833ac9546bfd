// The floor benchmark's skeleton worker (test/bench/floor.ts): only the I/O a call costs a worker,
// none of its SIP. Every datagram is sent back where it came from; the one marking a call's
// answer also writes a 2,300-byte snapshot (KV create), the one marking its end deletes it (at
// its revision) and publishes a 670-byte record to a file-stored stream, each awaited as a
// worker awaits them; the record is also appended to a file and synced (the CDR spool's group commit). Prints {"event":"ready","port":<udp port>} once the bucket and stream are bound.
// BATCH_MS=<n> holds the writes for n ms and makes them together (one socket write for the lot: a
// group commit), to see what batching would save.
// JETSTREAM=off: the datagrams only; SPOOL=off: no record on disk.
// Usage: [JETSTREAM=on] [SPOOL=on] [BATCH_MS=0] node floor-worker.js <nats url>
import { createSocket } from 'node:dgram';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';

const nc = await connect({ servers: process.argv[2] ?? '' });
const js = jetstream(nc);
await (await jetstreamManager(nc)).streams.add({ name: 'FLOOR_RECORDS', subjects: ['floor.rec.>'], storage: StorageType.File });
const kv = await new Kvm(js).create('floor-snapshots', { storage: StorageType.File, history: 1 });
const snapshot = new Uint8Array(2_300).fill(0x61);
const record = new Uint8Array(670).fill(0x62);
const revisions = new Map<string, number>();
const udpOnly = process.env.JETSTREAM === 'off';
const spoolOn = process.env.SPOOL !== 'off';
const batchMs = Number(process.env.BATCH_MS ?? 0);
const queued: (() => void)[] = [];
// the record goes to the worker's disk first (the CDR spool: a write and an fdatasync per group of records, one group at a time)
const spoolFile = join(tmpdir(), `floor-spool-${process.pid}.jsonl`);
const spool = await open(spoolFile, 'a');
let spooled: Uint8Array[] = [];
let syncing = false;
function flushSpool(): void {
  if (syncing || spooled.length === 0) return;
  syncing = true;
  const group = Buffer.concat(spooled);
  spooled = [];
  void spool.write(group).then(() => spool.datasync()).finally(() => {
    syncing = false;
    flushSpool();
  });
}

/** A write that failed: counted by the benchmark (a floor of failed writes would be no floor). */
const failed = (err: unknown) => console.log(JSON.stringify({ event: 'write-failed', err: String(err) }));

const socket = createSocket('udp4');
socket.on('message', (datagram, from) => {
  socket.send(datagram, from.port, from.address);
  // first byte: the datagram's part in its call ('A' answer, 'E' end, '-' anything else); then the call's id
  const kind = datagram[0];
  if (kind === 0x2d || udpOnly) return;
  const call = datagram.toString('latin1', 1, 17);
  if (batchMs > 0) {
    queued.push(() => write(kind, call));
    if (queued.length === 1) {
      setTimeout(() => {
        for (const w of queued.splice(0)) w();
      }, batchMs);
    }
    return;
  }
  write(kind, call);
});
function write(kind: number | undefined, call: string): void {
  if (kind === 0x41) {
    kv.create(call, snapshot).then((revision) => revisions.set(call, revision), failed);
  } else if (kind === 0x45) {
    const revision = revisions.get(call);
    revisions.delete(call);
    if (revision !== undefined) kv.delete(call, { previousSeq: revision }).catch(failed);
    if (spoolOn) {
      spooled.push(record);
      flushSpool();
    }
    js.publish(`floor.rec.${call}`, record, { msgID: call }).catch(failed);
  }
}
socket.bind(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ event: 'ready', port: socket.address().port }));
});
process.on('SIGTERM', () => {
  socket.close();
  void Promise.all([nc.close(), spool.close().then(() => rm(spoolFile, { force: true }))]).then(() => process.exit(0));
});
