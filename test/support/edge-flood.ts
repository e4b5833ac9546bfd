// Shared by the flood e2e test and its bench: a stranger's INVITE flood from a separate process
// (its own event loop, so the trunk's calls in the test process are not starved by the sender),
// and a worker's CPU time read from /proc.
import { readFileSync } from 'node:fs';
import { ManagedProcess } from '@switchboard/testkit';

/** utime + stime of `pid`, in seconds (/proc/<pid>/stat fields 14 and 15, in clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Sends `rate` INVITEs a second from `from` to `to` for `seconds` (1 ms batches, each INVITE a
 * new Call-ID and branch), then exits printing how many it sent.
 */
export function startFlood(o: { from: string; to: { host: string; port: number }; rate: number; seconds: number }): ManagedProcess {
  const script = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
s.bind(0, ${JSON.stringify(o.from)}, () => {
  let sent = 0;
  const start = Date.now();
  const end = start + ${o.seconds * 1000};
  const tick = () => {
    const now = Date.now();
    if (now >= end) {
      console.log(JSON.stringify({ event: 'flood-done', sent }));
      s.close();
      return;
    }
    const due = Math.floor(((now - start) * ${o.rate}) / 1000);
    for (; sent < due; sent++) {
      s.send(Buffer.from('INVITE sip:+14155550100@${o.to.host} SIP/2.0\\r\\nVia: SIP/2.0/UDP ${o.from}:5060;branch=z9hG4bKf' + sent + '\\r\\nMax-Forwards: 70\\r\\nFrom: <sip:flood@${o.from}>;tag=f' + sent + '\\r\\nTo: <sip:+14155550100@${o.to.host}>\\r\\nCall-ID: flood' + sent + '\\r\\nCSeq: 1 INVITE\\r\\nContact: <sip:flood@${o.from}:5060>\\r\\nContent-Length: 0\\r\\n\\r\\n'), ${o.to.port}, ${JSON.stringify(o.to.host)});
    }
    setTimeout(tick, 1);
  };
  tick();
});`;
  return ManagedProcess.spawn('flood', process.execPath, ['-e', script]);
}
