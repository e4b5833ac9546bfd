// RFC 3263 §4 client-side server location: which transport, address and port to send to for a
// SIP URI that no configured trunk serves, e.g. the Refer-To of a call transferred to another
// domain. An operator override table comes first, so a partner domain can be pinned without DNS.
//
// Deliberate limits:
// - A `sips:` URI locates to TLS hops only (NAPTR `SIPS+D2T`, SRV `_sips._tcp`, port 5061; an
//   override's TLS addresses): RFC 3261 §26.2.2 forbids downgrading a SIPS request to UDP/TCP, so
//   a target without TLS locates to [] — the caller says why. `;transport=sctp|ws` locate to nothing.
// - Cache lifetime is `cacheMs`, not the records' TTLs: node's resolver gives TTLs for A/AAAA only.
// - Each DNS call is bounded by `timeoutMs`, and independent queries (A with AAAA, the SRV of
//   both transports, all SRV targets) run together, so a locate takes at most three rounds.
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { SipUri } from '@switchboard/sip';

export type SipHopTransport = 'udp' | 'tcp' | 'tls';

/** One place to send a request: tried in the order `locate` returns them (RFC 3263 §4.3). */
export interface SipHop {
  transport: SipHopTransport;
  address: string;
  port: number;
}

/** The parts of node:dns/promises' Resolver the locator uses (injected so tests need no DNS). */
export interface DnsResolver {
  resolveNaptr(host: string): Promise<{ flags: string; service: string; regexp: string; replacement: string; order: number; preference: number }[]>;
  resolveSrv(name: string): Promise<{ name: string; port: number; priority: number; weight: number }[]>;
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
}

/** An operator's fixed answer for a domain: its addresses are used as given, in order. */
export interface LocatorOverride {
  domain: string;
  addresses: { host: string; port: number; transport: SipHopTransport }[];
}

export interface SipLocatorOptions {
  /** Default: a node:dns/promises Resolver using the system's name servers. */
  resolver?: DnsResolver;
  overrides?: readonly LocatorOverride[];
  /** Bound on each DNS call; a call that has not answered by then counts as "no records". Default 2000. */
  timeoutMs?: number;
  /** How long a non-empty answer is reused. Default 30000; 0 turns the cache off. */
  cacheMs?: number;
  now?: () => number;
  /**
   * Uniform in [0, 1): orders SRV records of equal priority by RFC 2782's weighted random pick.
   * Without it they go by weight, heaviest first, so the order is deterministic.
   */
  random?: () => number;
}

type SrvRecord = Awaited<ReturnType<DnsResolver['resolveSrv']>>[number];

const DEFAULT_PORT = 5060;
/** RFC 3261 §19.1.2: the default port of SIP over TLS. */
const TLS_PORT = 5061;
const defaultPort = (transport: SipHopTransport): number => (transport === 'tls' ? TLS_PORT : DEFAULT_PORT);
const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_CACHE_MS = 30_000;
/** Transfer targets come from remote parties' REFERs: the cache must not grow without end. */
const MAX_CACHED_TARGETS = 1024;

/** RFC 3263 §4.1 NAPTR services for the transports we have: for a sip: URI, and for a sips: URI. */
const NAPTR_SERVICES: ReadonlyMap<string, SipHopTransport> = new Map([
  ['sip+d2u', 'udp'],
  ['sip+d2t', 'tcp'],
]);
const SIPS_NAPTR_SERVICES: ReadonlyMap<string, SipHopTransport> = new Map([['sips+d2t', 'tls']]);

/** RFC 3263 §4.1: the SRV name of a transport (`_sips._tcp` for TLS). */
const srvName = (transport: SipHopTransport, host: string): string => (transport === 'tls' ? `_sips._tcp.${host}` : `_sip._${transport}.${host}`);

/** Our transport preference when there is no NAPTR to state the server's (RFC 3263 §4.1). */
const SRV_TRANSPORTS: readonly SipHopTransport[] = ['udp', 'tcp'];

export class SipLocator {
  readonly #resolver: DnsResolver;
  readonly #overrides = new Map<string, LocatorOverride['addresses']>();
  readonly #timeoutMs: number;
  readonly #cacheMs: number;
  readonly #now: () => number;
  readonly #random: (() => number) | undefined;
  readonly #cache = new Map<string, { hops: readonly SipHop[]; expires: number }>();

  constructor(o: SipLocatorOptions = {}) {
    this.#timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#cacheMs = o.cacheMs ?? DEFAULT_CACHE_MS;
    this.#now = o.now ?? Date.now;
    this.#random = o.random;
    // One try: a retry could only answer after our own bound has already given up on the call.
    this.#resolver = o.resolver ?? new Resolver({ timeout: this.#timeoutMs, tries: 1 });
    for (const override of o.overrides ?? []) {
      const key = domainKey(override.domain);
      if (!this.#overrides.has(key)) this.#overrides.set(key, override.addresses);
    }
  }

  /** Ordered hops to try for `uri`. Empty when nothing resolves. Never throws. */
  async locate(uri: SipUri): Promise<SipHop[]> {
    try {
      return await this.#locate(uri);
    } catch {
      return [];
    }
  }

  async #locate(uri: SipUri): Promise<SipHop[]> {
    const secure = uri.scheme === 'sips';
    const transportParam = uri.param('transport');
    let transport: SipHopTransport | undefined = secure ? 'tls' : undefined;
    if (typeof transportParam === 'string' && transportParam !== '') {
      const lower = transportParam.toLowerCase();
      // RFC 3261 §26.2.2: `sips:…;transport=tcp` is TLS over TCP; TLS over UDP does not exist
      if (secure ? lower !== 'tcp' && lower !== 'tls' : lower !== 'udp' && lower !== 'tcp' && lower !== 'tls') return [];
      if (!secure) transport = lower as SipHopTransport;
    }
    // RFC 3263 §4: "If the URI contains an maddr parameter, TARGET is set to its value".
    const maddr = uri.param('maddr');
    const target = typeof maddr === 'string' && maddr !== '' ? maddr : uri.host;
    const domain = domainKey(target);
    const override = this.#overrides.get(domain);
    if (override === undefined) {
      const ip = ipLiteral(target);
      if (ip !== undefined) return [{ transport: transport ?? 'udp', address: ip, port: uri.port ?? defaultPort(transport ?? 'udp') }];
    }

    const key = `${domain}|${transport ?? ''}|${uri.port ?? ''}`;
    const cached = this.#cached(key);
    if (cached !== undefined) return cached.map((hop) => ({ ...hop }));
    const hops = dedupe(
      override !== undefined
        ? (await Promise.all(override.filter((a) => !secure || a.transport === 'tls').map((a) => this.#addresses(a.host, a.port, a.transport)))).flat()
        : await this.#resolve(target, transport, uri.port),
    );
    this.#remember(key, hops);
    return hops.map((hop) => ({ ...hop }));
  }

  /** RFC 3263 §4.1 (transport) and §4.2 (port, address) for a host name. */
  async #resolve(host: string, transport: SipHopTransport | undefined, port: number | undefined): Promise<SipHop[]> {
    // §4.2: "If the TARGET was not a numeric IP address, but a port is present in the URI, the
    // client performs an A or AAAA record lookup" — no SRV, no NAPTR.
    if (port !== undefined) return this.#addresses(host, port, transport ?? 'udp');
    if (transport === 'tls') {
      // a sips: URI: the domain's NAPTR may name its TLS service; else `_sips._tcp`
      const viaNaptr = await this.#naptrHops(host, SIPS_NAPTR_SERVICES);
      if (viaNaptr.length > 0) return viaNaptr;
    }
    if (transport !== undefined) {
      return (await this.#srvHops(srvName(transport, host), transport)) ?? this.#addresses(host, defaultPort(transport), transport);
    }
    const viaNaptr = await this.#naptrHops(host, NAPTR_SERVICES);
    if (viaNaptr.length > 0) return viaNaptr;
    const viaSrv = await Promise.all(SRV_TRANSPORTS.map((t) => this.#srvHops(`_sip._${t}.${host}`, t)));
    // §4.2: "If no SRV records were found, the client performs an A or AAAA record lookup".
    if (viaSrv.some((hops) => hops !== undefined)) return viaSrv.flatMap((hops) => hops ?? []);
    return this.#addresses(host, DEFAULT_PORT, 'udp');
  }

  /**
   * RFC 3263 §4.1: NAPTR records for the services we support, by order then preference, each
   * replacement followed as an SRV name. Empty when none leads anywhere, so the caller goes on
   * to plain SRV queries rather than giving up on a domain with a stale NAPTR.
   */
  async #naptrHops(host: string, services: ReadonlyMap<string, SipHopTransport>): Promise<SipHop[]> {
    const records = await this.#query(() => this.#resolver.resolveNaptr(host));
    const usable: { transport: SipHopTransport; replacement: string; order: number; preference: number }[] = [];
    for (const r of records) {
      const transport = services.get(String(r.service).toLowerCase());
      // RFC 3263 §4.1: the "s" flag marks a replacement that is an SRV name — the only kind SIP uses.
      if (transport === undefined || String(r.flags).toLowerCase() !== 's' || !isName(r.replacement)) continue;
      usable.push({ transport, replacement: r.replacement, order: r.order, preference: r.preference });
    }
    usable.sort((a, b) => a.order - b.order || a.preference - b.preference);
    const lists = await Promise.all(usable.map((r) => this.#srvHops(r.replacement, r.transport)));
    return lists.flatMap((hops) => hops ?? []);
  }

  /** The hops of SRV `name` in RFC 2782 order, or undefined when it has no records at all. */
  async #srvHops(name: string, transport: SipHopTransport): Promise<SipHop[] | undefined> {
    const records = await this.#query(() => this.#resolver.resolveSrv(name));
    if (records.length === 0) return undefined;
    // RFC 2782: a target of "." means the service "is decidedly not available at this domain".
    const targets = this.#orderSrv(records).filter((r) => isName(r.name));
    const lists = await Promise.all(targets.map((r) => this.#addresses(r.name, r.port, transport)));
    return lists.flat();
  }

  /** RFC 2782: ascending priority; within one priority, weighted random (or heaviest first). */
  #orderSrv(records: readonly SrvRecord[]): SrvRecord[] {
    const sorted = [...records].sort((a, b) => a.priority - b.priority);
    const ordered: SrvRecord[] = [];
    for (let start = 0; start < sorted.length; ) {
      let end = start + 1;
      while (end < sorted.length && sorted[end]!.priority === sorted[start]!.priority) end++;
      const group = sorted.slice(start, end);
      ordered.push(...(this.#random === undefined ? group.sort((a, b) => b.weight - a.weight) : weightedOrder(group, this.#random)));
      start = end;
    }
    return ordered;
  }

  /** A then AAAA of `host` (both asked at once), or `host` itself when it is an IP literal. */
  async #addresses(host: string, port: number, transport: SipHopTransport): Promise<SipHop[]> {
    const ip = ipLiteral(host);
    if (ip !== undefined) return [{ transport, address: ip, port }];
    const [v4, v6] = await Promise.all([
      this.#query(() => this.#resolver.resolve4(host)),
      this.#query(() => this.#resolver.resolve6(host)),
    ]);
    return [...v4, ...v6].map((address) => ({ transport, address, port }));
  }

  /** One DNS call, bounded by timeoutMs; an error (ENOTFOUND, ENODATA, ...) or a timeout is "no records". */
  async #query<T>(call: () => Promise<T[]>): Promise<T[]> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<T[]>((resolve) => {
        timer = setTimeout(() => resolve([]), this.#timeoutMs);
      });
      const answer = await Promise.race([call(), timeout]);
      return Array.isArray(answer) ? answer : [];
    } catch {
      return [];
    } finally {
      clearTimeout(timer);
    }
  }

  #cached(key: string): readonly SipHop[] | undefined {
    const entry = this.#cache.get(key);
    if (entry === undefined) return undefined;
    if (this.#now() < entry.expires) return entry.hops;
    this.#cache.delete(key);
    return undefined;
  }

  #remember(key: string, hops: readonly SipHop[]): void {
    // Only positive answers: a domain that failed now is asked again on the next transfer.
    if (hops.length === 0 || this.#cacheMs <= 0) return;
    this.#cache.delete(key);
    if (this.#cache.size >= MAX_CACHED_TARGETS) {
      const oldest = this.#cache.keys().next();
      if (oldest.done !== true) this.#cache.delete(oldest.value);
    }
    this.#cache.set(key, { hops: hops.map((hop) => ({ ...hop })), expires: this.#now() + this.#cacheMs });
  }
}

/** Domain names compare case-insensitively (RFC 4343), and `example.com.` is `example.com`. */
function domainKey(domain: string): string {
  const lower = domain.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** The address of an IPv4 literal or a (bracketed) IPv6 reference, else undefined. */
function ipLiteral(host: string): string | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(bare) === 0 ? undefined : bare;
}

function isName(name: unknown): name is string {
  return typeof name === 'string' && name !== '' && name !== '.';
}

/**
 * RFC 2782's selection, repeated until the group is used up: zero-weight records first, then
 * pick the first whose running weight sum reaches a uniform number in [0, total].
 */
function weightedOrder(group: readonly SrvRecord[], random: () => number): SrvRecord[] {
  const remaining = [...group].sort((a, b) => Number(a.weight !== 0) - Number(b.weight !== 0));
  const ordered: SrvRecord[] = [];
  while (remaining.length > 0) {
    const total = remaining.reduce((sum, r) => sum + r.weight, 0);
    const pick = Math.floor(random() * (total + 1));
    let index = 0;
    for (let sum = 0; index < remaining.length - 1; index++) {
      sum += remaining[index]!.weight;
      if (sum >= pick) break;
    }
    ordered.push(...remaining.splice(index, 1));
  }
  return ordered;
}

function dedupe(hops: readonly SipHop[]): SipHop[] {
  const seen = new Set<string>();
  return hops.filter((hop) => {
    const key = `${hop.transport}|${hop.address}|${hop.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
