// IP address syntax without node:net: this package is pure (it runs in the worker and in tests alike).

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
const GROUP = /^[0-9a-f]{1,4}$/i;

/** 4 or 6 for an IPv4 or IPv6 address (RFC 4291 §2.2 text forms, zone ids excluded), else 0 — as node's `isIP`. */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (IPV4.test(text)) return 4;
  if (!text.includes(':')) return 0;
  let hex = text;
  // the last 32 bits may be written as a dotted quad: checked, then counted as two groups
  const quad = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad !== null) {
    if (!IPV4.test(quad[1] ?? '')) return 0;
    hex = `${text.slice(0, quad.index + 1)}0:0`;
  }
  const halves = hex.split('::');
  if (halves.length > 2) return 0;
  const groups = halves.map((h) => (h === '' ? [] : h.split(':')));
  if (!groups.every((g) => g.every((p) => GROUP.test(p)))) return 0;
  const count = groups.reduce((n, g) => n + g.length, 0);
  return (halves.length === 2 ? count < 8 : count === 8) ? 6 : 0;
}
