// Parsers for option values shared by every command group. Each throws commander's
// InvalidArgumentError, which commander reports naming the option: exit code 1.
import { InvalidArgumentError } from 'commander';
import { assertNodeId } from '@switchboard/wire';

const DURATION_UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

function isDurationUnit(unit: string): unit is keyof typeof DURATION_UNITS_MS {
  return Object.hasOwn(DURATION_UNITS_MS, unit);
}

/**
 * `90s`, `15m`, `1h`, `7d`, `500ms` → ms; undefined when it is none of these. The grammar of
 * @switchboard/cdr's parseDuration (the CDR query's), which is not imported: that package brings
 * JetStream and zod, and every command parses `--timeout` (issue 20). A test holds the two equal.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)\s*(ms|s|m|h|d)$/.exec(text.trim());
  const unit = m?.[2];
  return m !== null && unit !== undefined && isDurationUnit(unit) ? Number(m[1]) * DURATION_UNITS_MS[unit] : undefined;
}

/** A point in time as an operator writes it: a duration ago (`1h`) or a local ISO time. */
export type TimeSpec = { kind: 'ago'; ms: number } | { kind: 'at'; ms: number };

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseTimeSpec(text: string): TimeSpec {
  const ago = parseDuration(text);
  if (ago !== undefined) return { kind: 'ago', ms: ago };
  const trimmed = text.trim();
  if (ISO_TIME.test(trimmed)) {
    // A date alone is UTC midnight to Date.parse, a date with a time is local: make both local.
    const ms = Date.parse(trimmed.length === 10 ? `${trimmed}T00:00` : trimmed.replace(' ', 'T'));
    if (!Number.isNaN(ms)) return { kind: 'at', ms };
  }
  throw new InvalidArgumentError('Expected a duration ago (90s, 15m, 1h, 7d) or a time (2025-01-31T14:00, local unless it ends in Z or an offset).');
}

/** Unix ms; a duration reaching before 1970 is 1970. */
export function resolveTimeSpec(spec: TimeSpec, now: number): number {
  return spec.kind === 'at' ? spec.ms : Math.max(0, now - spec.ms);
}

/** `--timeout`: whole milliseconds (`2500`) or a duration (`5s`), from 1 ms to 10 minutes. */
export function parseTimeoutMs(text: string): number {
  const ms = /^\d+$/.test(text.trim()) ? Number(text) : parseDuration(text);
  if (ms === undefined || ms < 1 || ms > 600_000) throw new InvalidArgumentError('Expected milliseconds from 1 to 600000 (or a duration such as 5s).');
  return ms;
}

/** A whole number in [min, max]. */
export function integerIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** `--server`: one NATS URL or several separated by commas (as SWITCHBOARD_NATS_URL for the cluster). */
export function parseServers(text: string): string[] {
  const servers = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) throw new InvalidArgumentError('Expected a NATS URL such as nats://127.0.0.1:4222.');
  for (const server of servers) {
    let url: URL | undefined;
    try {
      url = new URL(server.includes('://') ? server : `nats://${server}`);
    } catch {
      url = undefined;
    }
    if (url === undefined || url.hostname === '' || !['nats:', 'tls:'].includes(url.protocol)) {
      throw new InvalidArgumentError(`${JSON.stringify(server)} is not a NATS URL (nats://host:port or tls://host:port).`);
    }
  }
  return servers;
}

/** A worker id as the cluster's subjects take it (1 to 32 letters or digits). */
export function parseWorkerId(text: string): string {
  try {
    return assertNodeId(text, 'worker id');
  } catch {
    throw new InvalidArgumentError('Expected a worker id (1 to 32 letters or digits, as `workers ls` prints it).');
  }
}

/** `--watch [interval]`: seconds (`5`, `0.5`) or a duration (`500ms`, `2s`, `1m`), from 200 ms to an hour. */
export function parseInterval(text: string): number {
  const trimmed = text.trim();
  const ms = /^\d+(?:\.\d+)?$/.test(trimmed) ? Math.round(Number(trimmed) * 1000) : parseDuration(trimmed);
  if (ms === undefined || ms < 200 || ms > 3_600_000) throw new InvalidArgumentError('Expected seconds (2, 0.5) or a duration (500ms, 2s, 1m), from 200ms to 1h.');
  return ms;
}
