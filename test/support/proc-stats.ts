// What the kernel counts for benchmarks: a process's CPU time, the machine's UDP counters and
// one UDP socket's drops (Linux /proc).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second: the unit of /proc/<pid>/stat's CPU times. */
export const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * CPU ms (user + system) of a running process, every thread counted: fields 14 and 15 of
 * /proc/<pid>/stat (proc(5)); /proc/<pid>/schedstat would give nanoseconds but only for the
 * main thread.
 */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces and parentheses: count fields after its last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** The `Udp:` counters of /proc/net/snmp by name (InErrors, RcvbufErrors…): the whole network namespace. */
export function udpCounters(): Record<string, number> {
  const rows = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = rows[0]?.split(/\s+/).slice(1) ?? [];
  const values = rows[1]?.split(/\s+/).slice(1) ?? [];
  return Object.fromEntries(names.map((n, i) => [n, Number(values[i])]));
}

/**
 * Datagrams the kernel dropped on the IPv4 UDP sockets bound to `port` (the last column of
 * /proc/net/udp, counted over the socket's life); undefined when no socket has that port.
 */
export function udpSocketDrops(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let drops: number | undefined;
  for (const row of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = row.trim().split(/\s+/);
    if (f[1]?.endsWith(`:${hexPort}`) !== true) continue;
    drops = (drops ?? 0) + Number(f[f.length - 1]);
  }
  return drops;
}

/**
 * CPU ms the whole machine spent busy and idle since boot, summed over its CPUs (the `cpu` line
 * of /proc/stat: user nice system idle iowait irq softirq steal…, in clock ticks); `steal` is
 * time the hypervisor gave to other guests.
 */
export function machineCpuMs(): { busy: number; idle: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.split(/\s+/).slice(1).map(Number);
  const ms = (ticks: number) => (ticks * 1000) / clockTicks;
  return { busy: ms(user + nice + system + irq + softirq), idle: ms(idle + iowait), steal: ms(steal) };
}
