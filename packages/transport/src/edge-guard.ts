import { readRoutingFields, SipParseError, type RoutingFields } from '@switchboard/sip';
import { decodeAuthenticatedSource, decodeEdgeSources, EnvelopeError, type RoutingIds, type TransportInfo } from '@switchboard/wire';
import type { Logger } from 'pino';
import { SourceGuard, type EdgeLimits } from './source-guard.js';

/**
 * What the edge decided before a request is parsed: dropped, let through with its source's rate
 * still to check once its routing fields are read (`rate`), or let through as it is (`pass`).
 */
export type Screening = 'drop' | 'rate' | 'pass';

/** The edge's counters (README "Security", edge limits), in the node's stats as `edge`. */
interface EdgeCounts {
  /** Out-of-dialog requests from sources no worker knows, dropped without a NATS hop. */
  strangerDropped: number;
  /** Out-of-dialog requests from a source banned for exceeding its rate. */
  bannedDropped: number;
  /** Requests let through before any worker told the node its known sources (fail open at start). */
  openPassed: number;
  /** A stranger's request for a trunk domain with credentials, let through to be challenged (RFC 3261 §22.3). */
  challengePassed: number;
  /** OPTIONS from known sources, never throttled. */
  keepalivesPassed: number;
  /** Sets of known sources heard, and envelopes that could not be read. */
  sourcesHeard: number;
  badEnvelopes: number;
}

/**
 * Flood protection at the transport: strangers' new requests are dropped here, silently (an
 * answer would cost as much as the request and confirm that something listens), and known
 * sources are held to a rate. In-dialog requests whose To tag is ours (the MAC checked) and
 * responses are never touched: they follow dialogs and transactions a worker accepted.
 */
export class EdgeGuard {
  readonly sources: SourceGuard;
  private readonly counts: EdgeCounts = { strangerDropped: 0, bannedDropped: 0, openPassed: 0, challengePassed: 0, keepalivesPassed: 0, sourcesHeard: 0, badEnvelopes: 0 };
  private revision: number | undefined;

  constructor(
    limits: EdgeLimits,
    private readonly ids: RoutingIds,
    private readonly log: Logger,
    now: () => number = Date.now,
  ) {
    this.sources = new SourceGuard(limits, now);
  }

  /** A request, before it is parsed: a stranger's is read only as far as its To tag and Request-URI host. */
  screen(data: Uint8Array, t: TransportInfo): Screening {
    switch (this.sources.standing(t.remoteAddress)) {
      case 'open':
        this.counts.openPassed++;
        return 'pass';
      case 'known':
        return 'rate';
    }
    let route: RoutingFields;
    try {
      route = readRoutingFields(data);
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      this.counts.strangerDropped++; // not answered: a stranger's garbage costs nothing more
      return 'drop';
    }
    if (route.toTag !== '' && this.ids.slotOfTag(route.toTag) !== undefined) return 'pass';
    const host = route.method === 'ACK' ? undefined : requestUriHost(data);
    if (host !== undefined && this.sources.challengesFor(host)) {
      if (this.take(t.remoteAddress)) {
        this.counts.challengePassed++;
        return 'pass';
      }
      return 'drop';
    }
    this.counts.strangerDropped++;
    return 'drop';
  }

  /** A known source's request, once read: new requests spend its bucket, OPTIONS keep-alives never do. */
  admit(route: RoutingFields, t: TransportInfo): boolean {
    if (route.toTag !== '' && this.ids.slotOfTag(route.toTag) !== undefined) return true;
    if (route.method === 'OPTIONS') {
      this.counts.keepalivesPassed++;
      return true;
    }
    return this.take(t.remoteAddress);
  }

  onSources(data: Uint8Array): void {
    try {
      const set = decodeEdgeSources(data);
      const ignored = this.sources.learn(set.networks, set.domains);
      this.counts.sourcesHeard++;
      if (set.revision !== this.revision) {
        this.revision = set.revision;
        this.log.info({ event: 'edge-sources', revision: set.revision, networks: set.networks.length, domains: set.domains.length, worker: set.worker, ignored }, 'known sources learned: strangers are dropped at the edge');
      }
    } catch (err) {
      this.badEnvelope(err, 'edge sources');
    }
  }

  onAuthenticated(data: Uint8Array): void {
    try {
      const a = decodeAuthenticatedSource(data);
      this.sources.authenticate(a.address, a.until);
    } catch (err) {
      this.badEnvelope(err, 'authenticated source');
    }
  }

  snapshot(): Record<string, unknown> {
    return { ...this.sources.snapshot(), revision: this.revision, ...this.counts };
  }

  private take(address: string): boolean {
    const verdict = this.sources.take(address);
    if (verdict === 'pass') return true;
    this.counts.bannedDropped++;
    if (verdict === 'ban') this.log.warn({ event: 'edge-ban', remote: address }, 'source over its rate: its new requests are dropped for a while');
    return false;
  }

  private badEnvelope(err: unknown, what: string): void {
    if (!(err instanceof EnvelopeError)) throw err;
    this.counts.badEnvelopes++;
    this.log.warn({ event: 'dropped', reason: err.code, detail: err.message }, `bad ${what} envelope`);
  }
}

const SIP_SCHEME = /^[A-Za-z]+ sips?:/;

/**
 * The host of a request's Request-URI, read from the request line alone (RFC 3261 §25.1
 * `hostport` after an optional `userinfo@`); undefined when it is not a SIP URI.
 */
export function requestUriHost(data: Uint8Array): string | undefined {
  const line = Buffer.from(data.buffer, data.byteOffset, Math.min(data.length, 512)).toString('latin1');
  const scheme = SIP_SCHEME.exec(line);
  if (scheme === null) return undefined;
  let at = scheme[0].length;
  const end = line.indexOf(' ', at);
  if (end === -1) return undefined;
  const uri = line.slice(at, end);
  const userEnd = uri.indexOf('@');
  at = userEnd === -1 ? 0 : userEnd + 1;
  if (uri[at] === '[') {
    const close = uri.indexOf(']', at);
    return close === -1 ? undefined : uri.slice(at, close + 1);
  }
  const host = /^[^:;?>]+/.exec(uri.slice(at));
  return host?.[0];
}
