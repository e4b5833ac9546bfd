// What the transactions of ended legs still owe retransmissions (RFC 3261 §17: a BYE's server
// transaction sends its 200 again for 64*T1 over UDP, an INVITE's absorbs its retransmissions,
// ...). A leg whose dialog is over leaves each one's afterlife here and stops at once, so an ended
// call frees its actors, dialog, records and messages then, not up to 32 s later (issue 17: at
// 100 calls/s a worker held ~2,500 ended calls, ~38 KB each). An entry keeps only what a
// retransmission gets again (a response, an ACK) and is forgotten when the timer that would
// have ended its transaction is due (swept once a second). One table per worker.
import type { SipMessage, SipRequest, SipResponse } from '@switchboard/sip';
import { afterlife, type ClientTransaction, type ServerTransaction } from '@switchboard/transactions';
import type { Destination, SipLink } from '../protocol/sip-link.js';

interface Settled {
  readonly again: SipMessage | undefined;
  /** Where a client's `again` (its ACK) goes; a server's answers go where the retransmission came from. */
  readonly to: Destination | undefined;
  readonly passesUp2xx: boolean;
  readonly until: number;
}

/** What became of a response given to the table. */
export type SettledResponse = 'absorbed' | 'not-settled' | 'answered';

const SWEEP_MS = 1_000;

export class SettledTransactions {
  private readonly servers = new Map<string, Settled>();
  private readonly clients = new Map<string, Settled>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly link: SipLink,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get size(): number {
    return this.servers.size + this.clients.size;
  }

  /** Whether every one of these transactions only absorbs retransmissions now (so a leg holding them may leave them here). */
  static canTake(txs: Iterable<ClientTransaction | ServerTransaction>): boolean {
    for (const tx of txs) if (afterlife(tx) === undefined) return false;
    return true;
  }

  /** A server transaction's afterlife, under its key (serverTransactionKey of its request). */
  server(key: string, tx: ServerTransaction): void {
    this.keep(this.servers, key, tx, undefined);
  }

  /** A client transaction's afterlife, under its key (its branch; a CANCEL's: `<branch>|CANCEL`); `to`: its peer. */
  client(key: string, tx: ClientTransaction, to: Destination): void {
    this.keep(this.clients, key, tx, to);
  }

  /** A request (or ACK) whose leg is gone: true when a settled server transaction took it (its answer sent again, or absorbed). */
  request(key: string | undefined, req: SipRequest, from: Destination): boolean {
    const entry = key === undefined ? undefined : this.servers.get(key);
    if (entry === undefined) return false;
    if (entry.again !== undefined && req.method !== 'ACK') this.link.send(entry.again, from);
    return true;
  }

  /**
   * A response whose leg is gone: `absorbed` by a settled client transaction (a non-2xx's ACK
   * sent again), `answered` for a 2xx to an INVITE of ours that was answered (its ACK is the
   * transaction user's: the caller treats it as a stray 2xx), `not-settled` when none has its key.
   */
  response(key: string, res: SipResponse): SettledResponse {
    const entry = this.clients.get(key);
    if (entry === undefined) return 'not-settled';
    if (res.status >= 200 && res.status < 300) return entry.passesUp2xx ? 'answered' : 'absorbed';
    if (res.status >= 300 && entry.again !== undefined && entry.to !== undefined) this.link.send(entry.again, entry.to);
    return 'absorbed';
  }

  /** Forgets everything (the worker stops). */
  clear(): void {
    this.servers.clear();
    this.clients.clear();
    clearTimeout(this.sweeper);
    this.sweeper = undefined;
  }

  private keep(table: Map<string, Settled>, key: string, tx: ClientTransaction | ServerTransaction, to: Destination | undefined): void {
    const after = afterlife(tx);
    if (after === undefined || after.ms === 0) return;
    table.set(key, { again: after.again, to, passesUp2xx: after.passesUp2xx, until: this.now() + after.ms });
    if (this.sweeper === undefined) this.sweepLater();
  }

  private sweepLater(): void {
    this.sweeper = setTimeout(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  private sweep(): void {
    this.sweeper = undefined;
    const now = this.now();
    for (const table of [this.servers, this.clients]) {
      for (const [key, entry] of table) if (entry.until <= now) table.delete(key);
    }
    if (this.size > 0) this.sweepLater();
  }
}
