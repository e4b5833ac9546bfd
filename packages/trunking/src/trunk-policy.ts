import { parseUri, SipUri, type SipRequest, type Uri } from '@switchboard/sip';
import { checkCallerId } from './caller-id.js';
import { DigestAuthenticator, parseDigestCredentials } from './digest.js';
import type { DigestFailures } from './digest-failures.js';
import { formatNumber, normaliseCarrierNumber, normaliseNumber, numberOf } from './numbers.js';
import { checkDestination } from './restrictions.js';
import { selectRoute } from './routing.js';
import { carrierSourceEntries, carrierSources, cidrContains, ipBytes, overTls, parseCidr, type CarrierConfig, type CidrBlock, type PeerTls, type TrunkConfig, type TrunkingConfig } from './trunk-config.js';

/** Where one attempt of a call goes: a carrier address (termination) or a customer URI (origination). */
export interface CallTarget {
  /** The Request-URI of the INVITE. */
  uri: SipUri;
  host: string;
  port: number;
  /** `tls`: the peer's certificate must carry the URI's host (RFC 5922 §4). */
  transport: 'udp' | 'tcp' | 'tls';
  /** The carrier, for termination attempts. */
  carrier?: CarrierConfig;
  /** `tls`: the peer's own TLS settings (its carrier's, its trunk's origination), over the transport's. */
  tls?: PeerTls;
  failoverOn: CarrierConfig['failoverOn'];
  offer: 'early' | 'delayed';
}

/** A cluster-wide limit the call must pass before it is placed (see the engine's CallLimiter). */
export interface CallLimit {
  key: string;
  maxConcurrent?: number;
  maxPerSecond?: number;
}

export interface TerminationPlan {
  kind: 'termination';
  trunk: TrunkConfig;
  /** The destination as dialled and as E.164. */
  dialled: string;
  called: string;
  /** The caller's number (E.164) to present, and whether it is withheld. */
  caller: { number: string; anonymous: boolean; replaced: boolean };
  targets: CallTarget[];
  limit: CallLimit;
  /** How the customer was identified. */
  identifiedBy: 'acl' | 'digest';
  /** Identified by digest: the nonce and count it used, for the cluster-wide replay check. */
  digest?: { nonce: string; nc: string };
}

export interface OriginationPlan {
  kind: 'origination';
  trunk: TrunkConfig;
  carrier: CarrierConfig;
  dialled: string;
  called: string;
  /** The caller's number (E.164) when the carrier sent one that reads as a number. */
  caller: string | undefined;
  anonymous: boolean;
  targets: CallTarget[];
  limit: CallLimit;
}

/** Why a call was refused before it was placed: what stats count and logs name. */
export type RefusalCause =
  | 'unknown-source' | 'auth-failed' | 'auth-throttled' | 'nonce-replayed' | 'unknown-did' | 'invalid-number' | 'destination-blocked'
  | 'destination-not-allowed' | 'caller-id' | 'no-route' | 'no-origination' | 'tls-required';

export type CallPlan =
  | TerminationPlan
  | OriginationPlan
  | { kind: 'refused'; status: number; reason: string; cause: RefusalCause; trunk?: string; detail?: string }
  | { kind: 'challenge'; trunk: string; headers: [string, string][] };

/** The source of a request, as the transport saw it. */
export interface RequestSource {
  address: string;
  /** What it came over; a trunk that requires TLS refuses the rest. Absent: not TLS. */
  protocol?: 'udp' | 'tcp' | 'tls';
}

interface Acl {
  blocks: CidrBlock[];
}

/**
 * The trunking policy, indexed for the request path: who sent an INVITE (a carrier by source
 * address, a customer by ACL or digest credentials), and where the call goes under the trunk's
 * rules. Pure: the engine applies the plan (limits, legs, failover).
 */
export class TrunkPolicy {
  private readonly byDomain = new Map<string, TrunkConfig>();
  private readonly byDid = new Map<string, TrunkConfig>();
  private readonly byUsername = new Map<string, { trunk: TrunkConfig; password: string }>();
  private readonly carriersById = new Map<string, CarrierConfig>();
  private readonly carrierSources: { carrier: CarrierConfig; acl: Acl }[] = [];
  private readonly trunkAcls: { trunk: TrunkConfig; acl: Acl }[] = [];

  constructor(
    readonly config: TrunkingConfig,
    private readonly digest: DigestAuthenticator,
    /** Shared by every policy a worker makes, so a configuration change does not forgive a guesser. */
    private readonly failures?: DigestFailures,
  ) {
    for (const c of config.carriers) {
      this.carriersById.set(c.id, c);
      this.carrierSources.push({ carrier: c, acl: { blocks: carrierSources(c) } });
    }
    for (const t of config.trunks) {
      this.byDomain.set(t.domain.toLowerCase(), t);
      for (const did of t.dids) this.byDid.set(did, t);
      for (const cred of t.credentials) this.byUsername.set(cred.username, { trunk: t, password: cred.password });
      if (t.acl.length > 0) this.trunkAcls.push({ trunk: t, acl: aclOf(t.acl) });
    }
  }

  trunk(id: string): TrunkConfig | undefined {
    return this.config.trunks.find((t) => t.id === id);
  }

  /** Whether `address` is a carrier's or in a trunk's ACL: who may use the service without credentials. */
  knowsSource(address: string): boolean {
    const bytes = ipBytes(address);
    return bytes !== undefined && (this.carrierSources.some((c) => contains(c.acl, bytes)) || this.trunkAcls.some((t) => contains(t.acl, bytes)));
  }

  /**
   * What the transport nodes need to drop strangers at the edge: every network `knowsSource`
   * accepts, the origination targets that are addresses (peers we call, whose keep-alives come
   * back), and the domains of trunks with credentials, whose customers must reach a challenge.
   */
  edgeSources(): { networks: string[]; domains: string[] } {
    const networks = new Set<string>();
    for (const c of this.config.carriers) for (const n of carrierSourceEntries(c)) networks.add(n);
    for (const t of this.config.trunks) {
      for (const n of t.acl) networks.add(n);
      for (const text of t.origination?.uris ?? []) {
        const uri = parseUri(text);
        const host = uri instanceof SipUri ? uri.host.replace(/^\[|\]$/g, '') : '';
        if (ipBytes(host) !== undefined) networks.add(host);
      }
    }
    const domains = this.config.trunks.filter((t) => t.credentials.length > 0).map((t) => t.domain.toLowerCase());
    return { networks: [...networks], domains };
  }

  /** What to do with a new INVITE from `source`. */
  plan(invite: SipRequest, source: RequestSource): CallPlan {
    const address = ipBytes(source.address);
    const carrier = address === undefined ? undefined : this.carrierSources.find((c) => contains(c.acl, address))?.carrier;
    if (carrier !== undefined) return this.origination(invite, carrier);
    const who = this.identifyCustomer(invite, address, source.address);
    // before a challenge too: digest over a plain transport would still expose the PBX's calls
    const trunk = who.kind === 'trunk' ? who.trunk : who.kind === 'challenge' ? this.trunk(who.trunk) : undefined;
    if (trunk?.requireTls === true && source.protocol !== 'tls') {
      return { kind: 'refused', status: 403, reason: 'TLS Required', cause: 'tls-required', trunk: trunk.id, detail: source.protocol ?? 'udp' };
    }
    if (who.kind !== 'trunk') return who;
    const plan = this.termination(invite, who.trunk, who.by);
    if (plan.kind === 'termination' && who.digest !== undefined) plan.digest = who.digest;
    return plan;
  }

  // ---- termination -------------------------------------------------------------------------

  /**
   * A customer is its trunk's ACL or its digest credentials. The Request-URI's host names the
   * trunk when it is a trunk domain; only then is a 407 challenge sent, so that a scanner
   * addressing the platform learns nothing (403, like any unknown source).
   */
  private identifyCustomer(invite: SipRequest, address: Uint8Array | undefined, source: string):
    | { kind: 'trunk'; trunk: TrunkConfig; by: 'acl' | 'digest'; digest?: { nonce: string; nc: string } }
    | Extract<CallPlan, { kind: 'refused' | 'challenge' }> {
    const host = invite.uri instanceof SipUri ? invite.uri.host.toLowerCase() : undefined;
    const named = host === undefined ? undefined : this.byDomain.get(host);
    const inAcl = (t: TrunkConfig) => address !== undefined && this.trunkAcls.some((a) => a.trunk === t && contains(a.acl, address));
    if (named !== undefined && inAcl(named)) return { kind: 'trunk', trunk: named, by: 'acl' };
    if (named === undefined && address !== undefined) {
      const byAcl = this.trunkAcls.find((a) => contains(a.acl, address))?.trunk;
      if (byAcl !== undefined) return { kind: 'trunk', trunk: byAcl, by: 'acl' };
    }
    // §22.3: of several credentials (a customer behind its own proxy), only those of our realm count
    const credentials = invite.headers.getAll('proxy-authorization').map(parseDigestCredentials).filter((c) => c !== undefined);
    const authorization = named === undefined
      ? credentials.find((c) => this.byUsername.get(c.username)?.trunk.domain.toLowerCase() === c.realm.toLowerCase())
      : credentials.find((c) => c.realm.toLowerCase() === named.domain.toLowerCase());
    const user = authorization === undefined ? undefined : this.byUsername.get(authorization.username);
    const trunk = named ?? user?.trunk;
    if (trunk === undefined || trunk.credentials.length === 0) return unknownSource();
    if (this.failures?.blocked(source, authorization?.username) === true) {
      return { kind: 'refused', status: 403, reason: 'Forbidden', cause: 'auth-throttled', trunk: trunk.id, detail: authorization?.username };
    }
    if (authorization === undefined) return { kind: 'challenge', trunk: trunk.id, headers: this.challenge(trunk, false) };
    const verdict = this.digest.verify(
      authorization,
      { method: invite.method, requestUri: invite.uri.toString(), realm: trunk.domain },
      (username) => {
        const u = this.byUsername.get(username);
        return u !== undefined && u.trunk === trunk ? { password: u.password } : undefined;
      },
    );
    if (verdict.ok) return { kind: 'trunk', trunk, by: 'digest', digest: { nonce: authorization.nonce, nc: authorization.nc ?? '' } };
    if (verdict.reason === 'stale') return { kind: 'challenge', trunk: trunk.id, headers: this.challenge(trunk, true) };
    this.failures?.failed(source, authorization.username);
    return { kind: 'refused', status: 403, reason: 'Forbidden', cause: 'auth-failed', trunk: trunk.id, detail: verdict.reason };
  }

  private challenge(trunk: TrunkConfig, stale: boolean): [string, string][] {
    return this.digest.challenge(trunk.domain, { stale }).map((v) => ['Proxy-Authenticate', v]);
  }

  private termination(invite: SipRequest, trunk: TrunkConfig, identifiedBy: 'acl' | 'digest'): CallPlan {
    const dialled = numberOf(invite.uri) ?? '';
    const called = normaliseNumber(dialled, trunk.numberPlan);
    if (called === undefined) return { kind: 'refused', status: 484, reason: 'Address Incomplete', cause: 'invalid-number', trunk: trunk.id, detail: dialled };
    const refusal = destinationRefusal(trunk, called);
    if (refusal !== undefined) return refusal;
    const h = invite.headers;
    const caller = checkCallerId({
      fromUser: numberOf(h.from?.uri),
      assertedUser: numberOf(h.getAll('p-asserted-identity').map(firstUri).find((u) => u !== undefined)),
      privacy: withheld(h.get('privacy')),
    }, trunk);
    if (!caller.ok) return { kind: 'refused', status: caller.status, reason: caller.reason, cause: 'caller-id', trunk: trunk.id, detail: caller.presented };
    const targets = this.carrierTargets(trunk, called);
    if (targets === undefined) return { kind: 'refused', status: 404, reason: 'No Route to Destination', cause: 'no-route', trunk: trunk.id, detail: called };
    return {
      kind: 'termination', trunk, dialled, called, caller: { number: caller.number, anonymous: caller.anonymous, replaced: caller.replaced }, targets, identifiedBy,
      limit: trunkLimit(trunk),
    };
  }

  /**
   * A transfer to a number of the PSTN (issue 7): a new outbound call on the trunk, through
   * the same restrictions, routing and limits as any termination call. The caller ID is the
   * one the transfer presents (the remaining party's, or the transferor's), not a customer's
   * claim, so the caller-ID policy does not apply; the carrier sees Diversion instead.
   */
  planTransfer(trunk: TrunkConfig, called: string, caller: { number: string; anonymous: boolean }): TerminationPlan | Extract<CallPlan, { kind: 'refused' }> {
    const refusal = destinationRefusal(trunk, called);
    if (refusal !== undefined) return refusal;
    const targets = this.carrierTargets(trunk, called);
    if (targets === undefined) return { kind: 'refused', status: 404, reason: 'No Route to Destination', cause: 'no-route', trunk: trunk.id, detail: called };
    return { kind: 'termination', trunk, dialled: called, called, caller: { ...caller, replaced: false }, targets, identifiedBy: 'acl', limit: trunkLimit(trunk) };
  }

  /** The carriers of the longest-prefix rule for `called`, each address in order; undefined without a rule. */
  private carrierTargets(trunk: TrunkConfig, called: string): CallTarget[] | undefined {
    const rule = selectRoute(called, trunk.routing);
    if (rule === undefined) return undefined;
    const targets: CallTarget[] = [];
    for (const id of rule.carriers) {
      const carrier = this.carriersById.get(id);
      if (carrier === undefined) continue; // cannot happen: the schema checks references
      for (const a of carrier.addresses) {
        // RFC 5630 §3.1.3: a hop over TLS is `;transport=tls`; sips: would demand TLS beyond the carrier
        const params = [{ name: 'user', value: 'phone' }, ...(a.transport === 'udp' ? [] : [{ name: 'transport', value: a.transport }])];
        targets.push({
          uri: new SipUri({ user: formatNumber(called, carrier.numberFormat), host: a.host, port: a.port, params }),
          host: a.host, port: a.port, transport: a.transport, carrier, failoverOn: carrier.failoverOn, offer: carrier.offer,
          ...(a.transport === 'tls' && carrier.tls !== undefined ? { tls: carrier.tls } : {}),
        });
      }
    }
    return targets;
  }

  // ---- origination -------------------------------------------------------------------------

  private origination(invite: SipRequest, carrier: CarrierConfig): CallPlan {
    const dialled = numberOf(invite.uri) ?? '';
    const called = normaliseCarrierNumber(dialled, carrier.numberPlan);
    const trunk = called === undefined ? undefined : this.byDid.get(called);
    if (called === undefined || trunk === undefined) return { kind: 'refused', status: 404, reason: 'Not Found', cause: 'unknown-did', detail: dialled };
    const origination = trunk.origination;
    if (origination === undefined) return { kind: 'refused', status: 404, reason: 'Not Found', cause: 'no-origination', trunk: trunk.id };
    const h = invite.headers;
    const asserted = h.getAll('p-asserted-identity').map(firstUri).find((u) => u !== undefined);
    const fromUser = numberOf(h.from?.uri);
    const anonymous = fromUser?.toLowerCase() === 'anonymous' || withheld(h.get('privacy'));
    const callerText = numberOf(asserted) ?? fromUser;
    const caller = callerText === undefined ? undefined : normaliseCarrierNumber(callerText, carrier.numberPlan);
    const targets = origination.uris.map((text): CallTarget => {
      const u = parseUri(text) as SipUri; // the schema admits only SIP URIs
      const transport = overTls(u) ? 'tls' : u.param('transport')?.toLowerCase() === 'tcp' ? 'tcp' : 'udp';
      return {
        uri: new SipUri({ scheme: u.scheme, user: u.user ?? called, host: u.host, port: u.port, params: u.params }),
        host: u.host, port: u.port ?? (transport === 'tls' ? 5061 : 5060), transport, failoverOn: origination.failoverOn, offer: 'early',
        ...(transport === 'tls' && origination.tls !== undefined ? { tls: origination.tls } : {}),
      };
    });
    return {
      kind: 'origination', trunk, carrier, dialled, called, caller, anonymous, targets,
      limit: { key: `trunk.${trunk.id}`, maxConcurrent: trunk.restrictions.maxConcurrent },
    };
  }
}

/** `Privacy: id` (RFC 3325 §9.3), among the header's `;`-separated values. */
function withheld(privacy: string | undefined): boolean {
  return (privacy ?? '').split(';').some((p) => p.trim().toLowerCase() === 'id');
}

/** The trunk's restrictions on `called` as a refusal, or undefined when it may be called. */
function destinationRefusal(trunk: TrunkConfig, called: string): Extract<CallPlan, { kind: 'refused' }> | undefined {
  const destination = checkDestination(called, trunk.restrictions);
  if (destination.allowed) return undefined;
  const cause = destination.reason === 'Destination Blocked' ? 'destination-blocked' : 'destination-not-allowed';
  return { kind: 'refused', status: destination.status, reason: destination.reason, cause, trunk: trunk.id, detail: destination.rule };
}

function trunkLimit(trunk: TrunkConfig): CallLimit {
  return { key: `trunk.${trunk.id}`, maxConcurrent: trunk.restrictions.maxConcurrent, maxPerSecond: trunk.restrictions.maxCps };
}

function unknownSource(): Extract<CallPlan, { kind: 'refused' }> {
  return { kind: 'refused', status: 403, reason: 'Forbidden', cause: 'unknown-source' };
}

function aclOf(entries: readonly string[]): Acl {
  return { blocks: entries.map(parseCidr).filter((b): b is CidrBlock => b !== undefined) };
}

function contains(acl: Acl, address: Uint8Array): boolean {
  return acl.blocks.some((b) => cidrContains(b, address));
}

/** The first URI of a P-Asserted-Identity line (`<sip:…>, <tel:…>` or a bare URI). */
function firstUri(value: string): Uri | undefined {
  const text = /<([^>]+)>/.exec(value)?.[1] ?? value.split(',', 1)[0]?.trim() ?? '';
  try {
    return parseUri(text);
  } catch {
    return undefined;
  }
}
