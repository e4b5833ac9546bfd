import { BlockList, isIPv6 } from 'node:net';

/** `transport.edge`: what one source may send before the edge stops listening to it. */
export interface EdgeLimits {
  /** Out-of-dialog requests per second a source's bucket refills by. */
  perSourceRate: number;
  /** What a bucket holds: the burst a source may send at once. */
  burst: number;
  /** How long a source over its rate is not listened to (its new requests dropped). */
  banSeconds: number;
  /** Banned sources remembered at once; past it the ban nearest its end is lifted. */
  maxBans: number;
  /** Sources with a bucket at once; past it the least recently added bucket is forgotten (it starts full again). */
  maxTracked: number;
  /**
   * Sources with a rate of their own (a carrier sending more than a PBX may), first match wins:
   * addresses or CIDR blocks. Read when a source's bucket is made.
   */
  overrides?: readonly SourceRate[];
}

/** `transport.edge.overrides[]`: the rate and burst of the sources in `sources`. */
export interface SourceRate {
  sources: readonly string[];
  perSourceRate: number;
  burst: number;
}

/** Where a source stands before its request is read: nothing heard yet (open), known, or a stranger. */
export type SourceStanding = 'open' | 'known' | 'stranger';

/** A source's request against its bucket: let through, dropped (banned earlier), or the one that got it banned. */
export type RateVerdict = 'pass' | 'banned' | 'ban';

/** Sources that passed digest authentication, remembered at most this many at once (oldest forgotten). */
const MAX_AUTHENTICATED = 100_000;

interface Bucket {
  tokens: number;
  at: number;
  rate: number;
  burst: number;
}

/**
 * Who the edge listens to, pure (a clock is given): the networks the workers know (trunk ACLs,
 * carrier sources), the sources that passed digest authentication lately, the trunk domains a
 * stranger may still ask for a challenge, and per source a token bucket (the Kamailio `pike`
 * idea) whose overflow bans the source for a while. Until the first set is learned every
 * source stands `open`: a fresh cluster must take calls before its workers have spoken.
 */
export class SourceGuard {
  private networks: BlockList | undefined;
  /** `networks.check` per address, remembered: it builds a SocketAddress (and validates it) per call. */
  private readonly inNetworks = new Map<string, boolean>();
  private networkCount = 0;
  private domains: ReadonlySet<string> = new Set();
  private readonly authenticated = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  /** Insertion order is expiry order: every ban lasts banSeconds. */
  private readonly bans = new Map<string, number>();
  private banCount = 0;
  private readonly overrides: { list: BlockList; rate: number; burst: number }[];

  constructor(
    private readonly limits: EdgeLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.overrides = (limits.overrides ?? []).map((o) => {
      const list = new BlockList();
      const bad = o.sources.filter((n) => !addTo(list, n));
      if (bad.length > 0) throw new Error(`transport.edge.overrides: not an address or block: ${bad.join(', ')}`);
      return { list, rate: o.perSourceRate, burst: o.burst };
    });
  }

  /** Replaces the known networks and digest domains; returns the entries that did not read as an address or block. */
  learn(networks: readonly string[], domains: readonly string[] = []): string[] {
    const list = new BlockList();
    const ignored: string[] = [];
    let count = 0;
    for (const n of networks) {
      if (addTo(list, n)) count++;
      else ignored.push(n);
    }
    this.networks = list;
    this.inNetworks.clear();
    this.networkCount = count;
    this.domains = new Set(domains.map((d) => d.toLowerCase()));
    return ignored;
  }

  /** `address` passed digest authentication: known until `until` (epoch ms). */
  authenticate(address: string, until: number): void {
    if (until <= this.now()) return;
    this.authenticated.delete(address); // re-inserted: the map stays in order of last authentication
    if (this.authenticated.size >= MAX_AUTHENTICATED) this.forgetOldest(this.authenticated);
    this.authenticated.set(address, until);
  }

  standing(address: string): SourceStanding {
    const networks = this.networks;
    if (networks === undefined) return 'open';
    let known = this.inNetworks.get(address);
    if (known === undefined) {
      known = networks.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
      if (this.inNetworks.size >= this.limits.maxTracked) this.forgetOldest(this.inNetworks);
      this.inNetworks.set(address, known);
    }
    if (known) return 'known';
    const until = this.authenticated.get(address);
    if (until === undefined) return 'stranger';
    if (until > this.now()) return 'known';
    this.authenticated.delete(address);
    return 'stranger';
  }

  /** A trunk domain with credentials: a stranger's request for it may earn a digest challenge. */
  challengesFor(host: string): boolean {
    return this.domains.has(host.toLowerCase());
  }

  /** Takes one out-of-dialog request from `address`'s bucket. */
  take(address: string): RateVerdict {
    const now = this.now();
    const bannedUntil = this.bans.get(address);
    if (bannedUntil !== undefined) {
      if (bannedUntil > now) return 'banned';
      this.bans.delete(address);
    }
    let bucket = this.buckets.get(address);
    if (bucket === undefined) {
      if (this.buckets.size >= this.limits.maxTracked) this.forgetOldest(this.buckets);
      const { rate, burst } = this.rateOf(address);
      bucket = { tokens: burst, at: now, rate, burst };
      this.buckets.set(address, bucket);
    } else {
      bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((now - bucket.at) * bucket.rate) / 1000);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 'pass';
    }
    this.ban(address, now);
    return 'ban';
  }

  snapshot(): { open: boolean; networks: number; domains: number; authenticated: number; banned: number; bans: number; tracked: number } {
    this.liftEndedBans(this.now());
    return {
      open: this.networks === undefined, networks: this.networkCount, domains: this.domains.size,
      authenticated: this.authenticated.size, banned: this.bans.size, bans: this.banCount, tracked: this.buckets.size,
    };
  }

  /** The override covering `address`, else the default: looked up once per bucket, not per request. */
  private rateOf(address: string): { rate: number; burst: number } {
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    const o = this.overrides.find((e) => e.list.check(address, type));
    return o ?? { rate: this.limits.perSourceRate, burst: this.limits.burst };
  }

  private ban(address: string, now: number): void {
    this.liftEndedBans(now);
    if (this.bans.size >= this.limits.maxBans) this.forgetOldest(this.bans);
    this.bans.set(address, now + this.limits.banSeconds * 1000);
    this.banCount++;
    // the bucket starts full after the ban: what the source sent while banned was never counted
    this.buckets.delete(address);
  }

  private liftEndedBans(now: number): void {
    for (const [address, until] of this.bans) {
      if (until > now) return;
      this.bans.delete(address);
    }
  }

  private forgetOldest<V>(map: Map<string, V>): void {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
}

/** Whether `entry` reads as an address or a CIDR block (a configuration check). */
export function isAddressOrBlock(entry: string): boolean {
  return addTo(new BlockList(), entry);
}

/** `192.0.2.0/24`, `2001:db8::/32` or a bare address into `list`; false when it reads as neither. */
function addTo(list: BlockList, entry: string): boolean {
  const [address = '', bits, ...rest] = entry.trim().split('/');
  if (rest.length > 0) return false;
  const type = isIPv6(address) ? 'ipv6' : 'ipv4';
  try {
    if (bits === undefined) list.addAddress(address, type);
    else {
      if (!/^\d{1,3}$/.test(bits)) return false;
      list.addSubnet(address, Number(bits), type);
    }
    return true;
  } catch {
    return false; // not an address of that family, or a prefix longer than it
  }
}
