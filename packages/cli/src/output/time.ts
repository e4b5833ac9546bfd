// Times and durations as the tables and detail views print them.

/** Whole seconds as `5s`, `1m05s`, `2h03m07s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${pad2(m)}m${pad2(s)}s`;
  if (m > 0) return `${m}m${pad2(s)}s`;
  return `${s}s`;
}

/** Local time to the second, ISO 8601 without an offset (`2025-01-31T14:05:09`): short enough for a table. */
export function formatLocalTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** Local time to the millisecond with its UTC offset (`2025-01-31T14:05:09.120+01:00`): exact, and parses back. */
export function formatLocalIso(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${formatLocalTime(ms)}.${String(d.getMilliseconds()).padStart(3, '0')}${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/**
 * A moment of a live call: the local time of day (`14:05:09`) when it is on today's date, the
 * full local time otherwise — live calls are mostly today's, and a date on every row is noise.
 */
export function formatClockTime(ms: number, now: number): string {
  const full = formatLocalTime(ms);
  return full.slice(0, 10) === formatLocalTime(now).slice(0, 10) ? full.slice(11) : full;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
