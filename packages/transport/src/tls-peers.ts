import type { TlsFiles } from '@switchboard/wire';
import { TlsCredentials, type PemFiles } from './tls-credentials.js';

/**
 * Outbound TLS credentials of the peers that name their own PEM files (a carrier's or a trunk's
 * `tls` in the trunking configuration), each file over the node's `tls.client` default of the
 * same kind: a carrier may bring only its CA and still show the node's client certificate. One
 * set of credentials per distinct set of files, loaded at its first use and then watched like
 * the node's own.
 */
export class PeerTlsCredentials {
  readonly #byFiles = new Map<string, TlsCredentials>();

  constructor(
    private readonly defaults: PemFiles,
    /** Starts watching new credentials for renewal (the node's reload reporting). */
    private readonly watch: (credentials: TlsCredentials, endpoint: string) => TlsCredentials,
  ) {}

  /**
   * The credentials for a peer's `own` files. Throws, naming the files, when they cannot be
   * used (missing, unreadable, a key that is not the certificate's): that send fails, the next
   * one tries again, so a file put in place later is picked up without a restart.
   */
  for(own: TlsFiles): TlsCredentials {
    const files: PemFiles = {
      caFile: own.caFile ?? this.defaults.caFile,
      certFile: own.certFile ?? this.defaults.certFile,
      keyFile: own.keyFile ?? this.defaults.keyFile,
    };
    const key = `${files.caFile ?? ''}|${files.certFile ?? ''}|${files.keyFile ?? ''}`;
    const known = this.#byFiles.get(key);
    if (known !== undefined) return known;
    let loaded: TlsCredentials;
    try {
      loaded = new TlsCredentials(files);
    } catch (err) {
      const named = Object.entries(own).map(([field, file]) => `${field} ${String(file)}`).join(', ');
      throw new Error(`peer TLS files (${named}): ${(err as Error).message}`);
    }
    const watched = this.watch(loaded, `peer ${own.certFile ?? own.caFile ?? 'tls'}`);
    this.#byFiles.set(key, watched);
    return watched;
  }
}
