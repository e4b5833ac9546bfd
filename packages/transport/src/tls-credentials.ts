import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { TransportCounters } from './transport-counters.js';

/** Where a TLS endpoint's PEM files are: its certificate and key, the CAs it trusts. */
export interface PemFiles {
  certFile?: string | undefined;
  keyFile?: string | undefined;
  caFile?: string | undefined;
}

/** How a reload went: the files in use now, or why the old ones stay. */
export type ReloadOutcome = { ok: true } | { ok: false; reason: string };

/**
 * The context options the files make. A key that does not match its certificate, or a file cut
 * short mid-write, throws here rather than at the first handshake.
 */
export function readCredentials(files: PemFiles): tls.SecureContextOptions {
  const options: tls.SecureContextOptions = {};
  if (files.certFile !== undefined) options.cert = readFileSync(files.certFile);
  if (files.keyFile !== undefined) options.key = readFileSync(files.keyFile);
  if (files.caFile !== undefined) options.ca = readFileSync(files.caFile);
  tls.createSecureContext(options);
  return options;
}

const changed = (now: Stats, before: Stats): boolean =>
  now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino;

/**
 * A TLS endpoint's credentials, re-read when a file changes (a renewed certificate, a rotated
 * Kubernetes Secret). Files are polled by stat rather than watched: a Secret is swapped by
 * renaming a symlinked directory, which inotify on the old path never reports. A change that does
 * not load (the certificate written, the key not yet) keeps the old credentials until the next.
 */
export class TlsCredentials {
  #current: tls.SecureContextOptions;
  readonly #subscribers: ((options: tls.SecureContextOptions) => void)[] = [];
  readonly #watched: string[] = [];
  #reloadQueued = false;

  /** Throws when the files cannot be used: an endpoint without its certificate does not start. */
  constructor(readonly files: PemFiles) {
    this.#current = readCredentials(files);
  }

  get current(): tls.SecureContextOptions {
    return this.#current;
  }

  /** Called with the new options after each successful reload. */
  onChange(fn: (options: tls.SecureContextOptions) => void): void {
    this.#subscribers.push(fn);
  }

  /** Checks the files every `intervalMs`; `report` hears how each reload went. */
  watch(intervalMs: number, report: (outcome: ReloadOutcome) => void): this {
    for (const file of [this.files.certFile, this.files.keyFile, this.files.caFile]) {
      if (file === undefined || this.#watched.includes(file)) continue;
      this.#watched.push(file);
      watchFile(file, { interval: intervalMs, persistent: false }, (now, before) => {
        if (!changed(now, before) || this.#reloadQueued) return;
        // the cert and key of one renewal are seen in the same poll: one reload for both
        this.#reloadQueued = true;
        setImmediate(() => {
          this.#reloadQueued = false;
          report(this.reload());
        });
      });
    }
    return this;
  }

  reload(): ReloadOutcome {
    let next: tls.SecureContextOptions;
    try {
      next = readCredentials(this.files);
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    this.#current = next;
    for (const fn of this.#subscribers) fn(next);
    return { ok: true };
  }

  close(): void {
    for (const file of this.#watched) unwatchFile(file);
    this.#watched.length = 0;
  }
}

/** X.509 verification results (OpenSSL's names, as node reports them) and node's own name check. */
const VERIFY_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'HOSTNAME_MISMATCH',
]);

/** Whether a TLS socket's error is its peer's certificate failing verification (not a network fault). */
export function isVerifyFailure(err: NodeJS.ErrnoException): boolean {
  return err.code !== undefined && VERIFY_CODES.has(err.code);
}

/** What a transport node does with each reload of `endpoint`'s files: counts it, and logs why one failed. */
export function reloadReporter(counters: TransportCounters['tls'], log: Logger, endpoint: string): (outcome: ReloadOutcome) => void {
  return (outcome) => {
    if (outcome.ok) {
      counters.reloads++;
      log.info({ event: 'tls-reloaded', endpoint }, 'TLS credentials reloaded: new handshakes use them');
    } else {
      counters.reloadsFailed++;
      log.warn({ event: 'tls-reload-failed', endpoint, reason: outcome.reason }, 'TLS credentials changed but cannot be used: the previous ones stay');
    }
  };
}
