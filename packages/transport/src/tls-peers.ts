import { dirname, isAbsolute, resolve, sep } from 'node:path';
import type { TlsFiles } from '@switchboard/wire';
import { TlsCredentials, type PemFiles } from './tls-credentials.js';

/** How long files that could not be used answer every send with the same failure, unread. */
export const PEER_FILES_FAILURE_HOLD_MS = 5_000;
/** Credentials no send has used for this long are dropped and no longer watched. */
export const PEER_FILES_IDLE_MS = 10 * 60_000;
/** At most this many sets of peer files are kept (and as many failures); the least recently used goes first. */
export const PEER_FILES_MAX = 256;

export interface PeerTlsOptions {
  /**
   * Absolute directories a peer's own files must be under (`transport.tls.peerFilesDirs`): the
   * paths come from whoever publishes on NATS, and the node reads nothing else on their word.
   */
  allowedDirs: readonly string[];
  /** Starts watching new credentials for renewal (the node's reload reporting). */
  watch: (credentials: TlsCredentials, endpoint: string) => TlsCredentials;
  failureHoldMs?: number;
  idleMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/**
 * `transport.tls.peerFilesDirs`, else the directories of the node's own TLS files (its listeners'
 * and `tls.client`'s): where an operator already mounts PEM files, e.g. one Kubernetes Secret.
 */
export function peerFilesDirs(transport: { listen: readonly { tls?: PemFiles | undefined }[]; tls: { client: PemFiles; peerFilesDirs?: readonly string[] | undefined } }): string[] {
  if (transport.tls.peerFilesDirs !== undefined) return transport.tls.peerFilesDirs.map((d) => resolve(d));
  const files = [transport.tls.client, ...transport.listen.map((l) => l.tls ?? {})].flatMap((f) => [f.caFile, f.certFile, f.keyFile]);
  return [...new Set(files.filter((f): f is string => f !== undefined).map((f) => dirname(resolve(f))))];
}

interface Loaded {
  readonly credentials: TlsCredentials;
  usedAt: number;
}

/**
 * Outbound TLS credentials of the peers that name their own PEM files (a carrier's or a trunk's
 * `tls` in the trunking configuration), each file over the node's `tls.client` default of the
 * same kind: a carrier may bring only its CA and still show the node's client certificate. One
 * set of credentials per distinct set of files, loaded at its first use and then watched like
 * the node's own while sends use it.
 */
export class PeerTlsCredentials {
  /** In order of last use, oldest first (a use moves an entry to the end). */
  readonly #byFiles = new Map<string, Loaded>();
  readonly #failures = new Map<string, { error: Error; until: number }>();
  readonly #dirs: string[];
  readonly #failureHoldMs: number;
  readonly #idleMs: number;
  readonly #max: number;
  readonly #now: () => number;
  #sweptAt: number;

  constructor(
    private readonly defaults: PemFiles,
    private readonly options: PeerTlsOptions,
  ) {
    this.#dirs = options.allowedDirs.map((d) => resolve(d));
    this.#failureHoldMs = options.failureHoldMs ?? PEER_FILES_FAILURE_HOLD_MS;
    this.#idleMs = options.idleMs ?? PEER_FILES_IDLE_MS;
    this.#max = options.maxEntries ?? PEER_FILES_MAX;
    this.#now = options.now ?? Date.now;
    this.#sweptAt = this.#now();
  }

  /**
   * The credentials for a peer's `own` files. Throws, naming the files, when they cannot be
   * used (outside the allowed directories, missing, unreadable, a key that is not the
   * certificate's): that send fails, and so does every send within `failureHoldMs` without
   * reading them again (a flood of sends is not a flood of reads); after that a send tries again,
   * so a file put in place later is picked up without a restart.
   */
  for(own: TlsFiles): TlsCredentials {
    const now = this.#now();
    this.#sweep(now);
    const files: PemFiles = {
      caFile: own.caFile ?? this.defaults.caFile,
      certFile: own.certFile ?? this.defaults.certFile,
      keyFile: own.keyFile ?? this.defaults.keyFile,
    };
    const key = `${files.caFile ?? ''}|${files.certFile ?? ''}|${files.keyFile ?? ''}`;
    const known = this.#byFiles.get(key);
    if (known !== undefined) {
      known.usedAt = now;
      this.#byFiles.delete(key);
      this.#byFiles.set(key, known);
      return known.credentials;
    }
    const failed = this.#failures.get(key);
    if (failed !== undefined && failed.until > now) throw failed.error;
    let loaded: TlsCredentials;
    try {
      const outside = Object.values(own).find((file) => typeof file === 'string' && !this.#allowed(file));
      if (outside !== undefined) throw new Error(`${outside} is not under transport.tls.peerFilesDirs (${this.#dirs.join(', ') || 'none'})`);
      loaded = new TlsCredentials(files);
    } catch (err) {
      const named = Object.entries(own).map(([field, file]) => `${field} ${String(file)}`).join(', ');
      const error = new Error(`peer TLS files (${named}): ${(err as Error).message}`);
      this.#failures.delete(key);
      this.#failures.set(key, { error, until: now + this.#failureHoldMs });
      if (this.#failures.size > this.#max) this.#failures.delete(this.#failures.keys().next().value as string);
      throw error;
    }
    const watched = this.options.watch(loaded, `peer ${own.certFile ?? own.caFile ?? 'tls'}`);
    this.#failures.delete(key);
    this.#byFiles.set(key, { credentials: watched, usedAt: now });
    if (this.#byFiles.size > this.#max) this.#drop(this.#byFiles.keys().next().value as string);
    return watched;
  }

  /** How many sets of peer files are loaded and watched. */
  get size(): number {
    return this.#byFiles.size;
  }

  close(): void {
    for (const key of [...this.#byFiles.keys()]) this.#drop(key);
    this.#failures.clear();
  }

  #allowed(file: string): boolean {
    if (!isAbsolute(file)) return false;
    const path = resolve(file); // `..` cannot climb out of a directory
    return this.#dirs.some((dir) => path.startsWith(dir.endsWith(sep) ? dir : dir + sep));
  }

  /** Drops idle credentials and spent failures, at most every `idleMs` / 10 (entries are few). */
  #sweep(now: number): void {
    if (now - this.#sweptAt < this.#idleMs / 10) return;
    this.#sweptAt = now;
    for (const [key, entry] of this.#byFiles) {
      if (now - entry.usedAt < this.#idleMs) break; // the rest were used later
      this.#drop(key);
    }
    for (const [key, failure] of this.#failures) if (failure.until <= now) this.#failures.delete(key);
  }

  #drop(key: string): void {
    // connections already made keep their context: only the watching stops
    this.#byFiles.get(key)?.credentials.close();
    this.#byFiles.delete(key);
  }
}
