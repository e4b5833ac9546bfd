import { parseUri, SipUri } from '@switchboard/sip';
import { z } from 'zod';
import { ipVersion } from './ip-address.js';

// The trunking configuration: trunks (customers), carriers (the PSTN side) and numbers, in one
// file. Everything a call's policy reads is here; cross-references are checked at load time so
// a running worker never meets a routing rule naming a carrier that does not exist.

const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'expected letters, digits, "-" or "_" (at most 63)');

/** A destination prefix: digits with an optional leading `+`; empty matches every number. */
export const Prefix = z.string().regex(/^\+?\d*$/, 'expected digits');

export const E164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'expected an E.164 number (+ then 7 to 15 digits)');

const Hostname = z
  .string()
  .regex(/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, 'expected a domain name');

/** An IPv4/IPv6 address or a CIDR block. */
export const Cidr = z.string().refine((s) => parseCidr(s) !== undefined, 'expected an IP address or CIDR block (e.g. 203.0.113.0/24)');

const Host = z.string().refine((s) => ipVersion(s) !== 0 || Hostname.safeParse(s).success, 'expected an IP address or a host name');

const Transport = z.enum(['udp', 'tcp', 'tls']);

/** A peer's address; the port defaults to 5061 over TLS, 5060 otherwise (RFC 3261 §19.1.2). */
const PeerAddress = z
  .object({ host: Host, port: z.number().int().min(1).max(65535).optional(), transport: Transport.default('udp') })
  .transform((a) => ({ ...a, port: a.port ?? (a.transport === 'tls' ? 5061 : 5060) }));

/** Response codes as numbers (`503`) or classes (`'5xx'`). */
const StatusSet = z.array(
  z.union([z.number().int().min(300).max(699), z.enum(['3xx', '4xx', '5xx', '6xx'])], { error: 'expected a status code (300-699) or a class such as "5xx"' }),
);

/** Failover happens on these and on a timeout or transport error; never on other answers (a user's 486 is an answer). */
const DEFAULT_FAILOVER: ('5xx' | number)[] = [408, '5xx'];

export const NumberPlan = z.object({
  /** Country calling code, e.g. `1` or `44`. */
  countryCode: z.string().regex(/^[1-9]\d{0,2}$/, 'expected a country calling code (1 to 3 digits)'),
  /** Dialled before a national number, e.g. `0` (UK) or `1` (NANP); empty when there is none. */
  nationalPrefix: z.string().regex(/^\d{0,4}$/, 'expected digits').default(''),
  /** Dialled before an international number, e.g. `00` or `011`. */
  internationalPrefix: z.string().regex(/^\d{1,4}$/, 'expected digits').default('00'),
});
export type NumberPlan = z.output<typeof NumberPlan>;

const SipTarget = z.string().refine((s) => {
  try {
    const uri = parseUri(s);
    return uri instanceof SipUri;
  } catch {
    return false;
  }
}, 'expected a sip: or sips: URI');

/** Whether a target URI is reached over TLS: `sips:` (RFC 3261 §26.2.2) or `;transport=tls`. */
export function overTls(uri: SipUri): boolean {
  return uri.scheme === 'sips' || uri.param('transport')?.toLowerCase() === 'tls';
}

/** An absolute path: the file is read on the transport nodes, never relative to a worker's configuration. */
const PemPath = z.string().regex(/^\//, 'expected an absolute path to a PEM file on the transport nodes');

/**
 * One peer's outbound TLS, over the transport's `tls.client` defaults field by field: the CAs its
 * certificate must chain to, the client certificate shown to it, the name its certificate must
 * carry (and the SNI sent) when that is not the host we dial. The files are read by the
 * transport node that dials the peer; one that cannot be read fails that attempt (logged with
 * the file, counted), and the call fails over.
 */
export const PeerTls = z
  .object({
    caFile: PemPath.optional(),
    certFile: PemPath.optional(),
    keyFile: PemPath.optional(),
    serverName: Hostname.optional(),
  })
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'expected certFile and keyFile together', path: ['keyFile'] });
export type PeerTls = z.output<typeof PeerTls>;

export const CarrierConfig = z.object({
  id: Id,
  /** Where its INVITEs go, tried in order before the next carrier. */
  addresses: z.array(PeerAddress).min(1, 'expected at least one address'),
  /** Where its INVITEs come from (origination); default: the addresses that are IP literals. */
  sources: z.array(Cidr).optional(),
  failoverOn: StatusSet.default(DEFAULT_FAILOVER),
  /** Its own calls-per-second ceiling, across the cluster; over it, the next carrier is tried. */
  maxCps: z.number().int().positive().optional(),
  /** `delayed`: the INVITE goes without SDP and the caller's offer is sent in the ACK. */
  offer: z.enum(['early', 'delayed']).default('early'),
  /** How it writes numbers: `e164` (+14155550100) or `e164-digits` (14155550100). */
  numberFormat: z.enum(['e164', 'e164-digits']).default('e164'),
  /** How to read the numbers it sends (origination); default: E.164 with or without `+`. */
  numberPlan: NumberPlan.optional(),
  /** Its own TLS settings for its `transport: tls` addresses, over the transport's `tls.client`. */
  tls: PeerTls.optional(),
});
export type CarrierConfig = z.output<typeof CarrierConfig>;

export const TrunkConfig = z.object({
  id: Id,
  /** The host customers address (`sip:+14155550100@acme.trunks.example`); also the digest realm. */
  domain: Hostname,
  /** Source addresses that identify this customer without credentials. */
  acl: z.array(Cidr).default([]),
  /**
   * The customer's PBX must use TLS: its requests over UDP or TCP are refused (403), and its
   * origination URIs must be `sips:` or `;transport=tls`.
   */
  requireTls: z.boolean().default(false),
  /** Digest credentials (RFC 8760: SHA-256 and MD5), challenged with 407. */
  credentials: z.array(z.object({ username: z.string().min(1).regex(/^[^"\\\s]+$/, 'expected no quotes, backslashes or spaces'), password: z.string().min(8, 'expected at least 8 characters') })).default([]),
  /** The customer's numbers: origination calls to these reach the trunk. */
  dids: z.array(E164).default([]),
  origination: z
    .object({
      /** The customer's PBX, tried in order. */
      uris: z.array(SipTarget).min(1, 'expected at least one URI'),
      failoverOn: StatusSet.default(DEFAULT_FAILOVER),
      /** TLS settings for its TLS URIs (`sips:`, `;transport=tls`), over the transport's `tls.client`. */
      tls: PeerTls.optional(),
    })
    .optional(),
  numberPlan: NumberPlan,
  /** Longest matching prefix wins; its carriers are tried in order. */
  routing: z.array(z.object({ prefix: Prefix, carriers: z.array(Id).min(1, 'expected at least one carrier') })).default([]),
  restrictions: z
    .object({
      /** When non-empty, only destinations with one of these prefixes may be called. */
      allowedPrefixes: z.array(Prefix).default([]),
      blocked: z.array(z.object({ prefix: Prefix, name: z.string().min(1).default('blocked') })).default([]),
      /** Calls in progress on the trunk, both directions, across the cluster. */
      maxConcurrent: z.number().int().positive().optional(),
      /** New outbound calls per second, across the cluster. */
      maxCps: z.number().int().positive().optional(),
      /**
       * Longest a call may last once answered, in seconds (0: no limit): a call nobody ends (a
       * lost BYE, a peer that gave up) is ended on both sides with BYE, never lives forever.
       */
      maxCallSeconds: z.number().int().min(0).max(7 * 86_400).default(4 * 3_600),
    })
    .default({ allowedPrefixes: [], blocked: [], maxCallSeconds: 4 * 3_600 }),
  callerId: z
    .object({
      /** Number prefixes the customer may present besides its own DIDs. */
      allowed: z.array(Prefix).default([]),
      /** `reject` (403) or `replace` with `default`. */
      onViolation: z.enum(['reject', 'replace']).default('reject'),
      default: E164.optional(),
    })
    .default({ allowed: [], onViolation: 'reject' }),
  /** Call transfer with REFER (RFC 3515) on this trunk's calls. */
  transfer: z
    .object({
      /** `all`; `sip-only`: only targets on other domains; `pstn-only`: only numbers on the trunk; `disabled`: every REFER gets 403. */
      mode: z.enum(['all', 'sip-only', 'pstn-only', 'disabled']).default('all'),
      /** Who the transfer target sees calling: the remaining party (default) or the transferor. */
      callerId: z.enum(['transferee', 'transferor']).default('transferee'),
      /** Transfers of one call, chains included. */
      maxPerCall: z.number().int().min(1).default(5),
      /** The number a PSTN transfer names in Diversion (RFC 5806); default: the trunk's first DID. */
      diversionNumber: E164.optional(),
    })
    .default({ mode: 'all', callerId: 'transferee', maxPerCall: 5 }),
});
export type TrunkConfig = z.output<typeof TrunkConfig>;

/** Where a domain's SIP goes, instead of DNS (RFC 3263): for peers without DNS, and for tests. */
export const LocatorOverride = z.object({
  domain: Hostname,
  addresses: z.array(PeerAddress).min(1, 'expected at least one address'),
});
export type LocatorOverride = z.output<typeof LocatorOverride>;

export const TrunkingConfigSchema = z
  .object({
    carriers: z.array(CarrierConfig).default([]),
    trunks: z.array(TrunkConfig).default([]),
    /** Transfers to SIP destinations on other domains: platform-wide, not per trunk. */
    sipTransfers: z
      .object({
        /** Legs to other domains in progress at once, across the cluster: they pass no trunk limit. */
        maxConcurrent: z.number().int().min(0).default(200),
        /** Domain → addresses, consulted before DNS. */
        overrides: z.array(LocatorOverride).default([]),
      })
      .default({ maxConcurrent: 200, overrides: [] }),
  })
  .superRefine((c, ctx) => {
    const carrierIds = new Set<string>();
    c.carriers.forEach((carrier, i) => {
      if (carrierIds.has(carrier.id)) ctx.addIssue({ code: 'custom', path: ['carriers', i, 'id'], message: `duplicate carrier id "${carrier.id}"` });
      carrierIds.add(carrier.id);
      if (carrier.tls !== undefined && !carrier.addresses.some((a) => a.transport === 'tls')) ctx.addIssue({ code: 'custom', path: ['carriers', i, 'tls'], message: 'TLS settings, but no address with transport tls' });
    });
    const trunkIds = new Set<string>();
    const domains = new Map<string, string>();
    const dids = new Map<string, string>();
    const usernames = new Map<string, string>();
    c.trunks.forEach((t, i) => {
      if (trunkIds.has(t.id)) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'id'], message: `duplicate trunk id "${t.id}"` });
      trunkIds.add(t.id);
      const domain = t.domain.toLowerCase();
      if (domains.has(domain)) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'domain'], message: `already the domain of trunk "${domains.get(domain)}"` });
      domains.set(domain, t.id);
      if (t.acl.length === 0 && t.credentials.length === 0) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'acl'], message: 'expected an ACL entry or credentials: nothing would identify this customer' });
      t.dids.forEach((did, j) => {
        if (dids.has(did)) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'dids', j], message: `${did} already belongs to trunk "${dids.get(did)}"` });
        dids.set(did, t.id);
      });
      t.credentials.forEach((cred, j) => {
        if (usernames.has(cred.username)) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'credentials', j, 'username'], message: `already a username of trunk "${usernames.get(cred.username)}"` });
        usernames.set(cred.username, t.id);
      });
      t.routing.forEach((rule, j) => {
        rule.carriers.forEach((id, k) => {
          if (!carrierIds.has(id)) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'routing', j, 'carriers', k], message: `no carrier "${id}"` });
        });
      });
      if (t.requireTls) {
        t.origination?.uris.forEach((text, j) => {
          if (!overTls(parseUri(text) as SipUri)) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'origination', 'uris', j], message: 'expected a sips: URI or ;transport=tls: the trunk requires TLS' });
        });
      }
      if (t.origination?.tls !== undefined && !t.origination.uris.some((text) => overTls(parseUri(text) as SipUri))) {
        ctx.addIssue({ code: 'custom', path: ['trunks', i, 'origination', 'tls'], message: 'TLS settings, but no sips: or ;transport=tls URI' });
      }
      if (t.dids.length > 0 && t.origination === undefined) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'origination'], message: 'expected origination URIs: the trunk has DIDs' });
      t.acl.forEach((entry, j) => {
        const block = parseCidr(entry);
        const carrier = c.carriers.find((carrier) => carrierSources(carrier).some((src) => block !== undefined && overlaps(block, src)));
        if (carrier !== undefined) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'acl', j], message: `overlaps the sources of carrier "${carrier.id}": its calls would be taken for origination` });
      });
      if (t.callerId.onViolation === 'replace' && t.callerId.default === undefined) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'callerId', 'default'], message: 'expected a number to present instead (onViolation is replace)' });
    });
  });
export type TrunkingConfig = z.output<typeof TrunkingConfigSchema>;

/** Where a carrier's calls come from: its `sources`, else its addresses that are IP literals. */
export function carrierSources(carrier: Pick<CarrierConfig, 'sources' | 'addresses'>): CidrBlock[] {
  return carrierSourceEntries(carrier).map(parseCidr).filter((b): b is CidrBlock => b !== undefined);
}

/** `carrierSources` as written: addresses and CIDR blocks. */
export function carrierSourceEntries(carrier: Pick<CarrierConfig, 'sources' | 'addresses'>): string[] {
  return carrier.sources ?? carrier.addresses.map((a) => a.host).filter((h) => ipBytes(h) !== undefined);
}

/** Whether two blocks share an address: the shorter prefix contains the other's network. */
function overlaps(a: CidrBlock, b: CidrBlock): boolean {
  return a.bits <= b.bits ? cidrContains(a, b.bytes) : cidrContains(b, a.bytes);
}

/** A parsed CIDR block: the address bytes and the prefix length. */
export interface CidrBlock {
  bytes: Uint8Array;
  bits: number;
}

export function parseCidr(text: string): CidrBlock | undefined {
  const [addr = '', len, ...extra] = text.split('/');
  if (extra.length > 0) return undefined;
  const bytes = ipBytes(addr);
  if (bytes === undefined) return undefined;
  const max = bytes.length * 8;
  if (len === undefined) return { bytes, bits: max };
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) return undefined;
  return { bytes, bits: Number(len) };
}

/** The bytes of an IP address; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4, as sockets report both. */
export function ipBytes(text: string): Uint8Array | undefined {
  const kind = ipVersion(text);
  if (kind === 4) return Uint8Array.from(text.split('.').map(Number));
  if (kind !== 6) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  if (mapped?.[1] !== undefined) return ipBytes(mapped[1]);
  // RFC 4291 §2.2: the last 32 bits may be a dotted quad (`64:ff9b::192.0.2.1`): rewrite it as two groups
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad !== null) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    return ipBytes(`${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`);
  }
  const [head = '', tail] = text.split('::', 2);
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

export function cidrContains(block: CidrBlock, address: Uint8Array): boolean {
  if (block.bytes.length !== address.length) return false;
  let bits = block.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((block.bytes[i] ?? 0) & mask) !== ((address[i] ?? 0) & mask)) return false;
  }
  return true;
}
