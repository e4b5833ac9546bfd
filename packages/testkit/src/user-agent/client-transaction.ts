import { serializeMessage, type SipRequest, type SipResponse } from '@switchboard/sip';
import type { Flow } from './flow.js';
import type { LogEntry } from './message-log.js';
import type { TransactionHost } from './transaction-host.js';

/** The agent of a client transaction: it routes responses to the transaction by this table. */
export interface ClientTransactionHost extends TransactionHost {
  readonly _clientTxs: Map<string, ClientTransaction>;
}

/** A client transaction (RFC 3261 §17.1) with its retransmissions over UDP. */
export class ClientTransaction {
  readonly key: string;
  readonly invite: boolean;
  final: SipResponse | undefined;
  provisional: SipResponse | undefined;
  error: Error | undefined;
  private raw: Buffer | undefined;
  private retransmitTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ua: ClientTransactionHost,
    readonly request: SipRequest,
    readonly flow: Flow,
    private readonly onResponse: (res: SipResponse, entry: LogEntry) => void,
    private readonly onFailure?: (err: Error, timedOut: boolean) => void,
  ) {
    this.invite = request.method === 'INVITE';
    this.key = `${request.headers.topVia?.branch ?? ''}|${request.method}`;
  }

  start(): this {
    this.ua._clientTxs.set(this.key, this);
    this.raw = serializeMessage(this.request);
    this.ua._fire(this.ua._send(this.request, this.flow, false, this.raw), (err) => this.fail(err));
    if (this.flow.transport === 'udp') this.scheduleRetransmit(this.ua.t1);
    this.timeoutTimer = this.ua._after(64 * this.ua.t1, () => {
      const what = this.invite ? 'Timer B' : 'Timer F';
      this.fail(new Error(`${this.ua.name}: no ${this.invite ? '' : 'final '}response to ${this.request.method} within 64*T1 (${what})`), true);
    });
    return this;
  }

  private scheduleRetransmit(interval: number): void {
    this.retransmitTimer = this.ua._after(interval, () => {
      if (this.final !== undefined || this.error !== undefined) return;
      if (this.invite && this.provisional !== undefined) return;
      this.ua._fire(this.ua._send(this.request, this.flow, true, this.raw));
      // Timer A doubles without bound; Timer E doubles up to T2, and is T2 once a provisional came
      const next = this.invite ? interval * 2 : this.provisional !== undefined ? this.ua.t2 : Math.min(interval * 2, this.ua.t2);
      this.scheduleRetransmit(next);
    });
  }

  receive(res: SipResponse, entry: LogEntry): void {
    if (this.error !== undefined) return;
    if (res.status < 200) {
      if (this.final !== undefined) return;
      this.provisional = res;
      if (this.invite) this.stopTimers();
    } else if (this.final === undefined) {
      this.final = res;
      this.stopTimers();
      // kept a while to absorb retransmitted final responses (and ACK retransmitted 2xx)
      this.ua._after(64 * this.ua.t1, () => this.ua._clientTxs.delete(this.key));
    } else {
      entry.retransmission = true;
    }
    this.onResponse(res, entry);
  }

  fail(err: Error, timedOut = false): void {
    if (this.final !== undefined || this.error !== undefined) return;
    this.error = err;
    this.stopTimers();
    this.ua._clientTxs.delete(this.key);
    this.onFailure?.(err, timedOut);
  }

  private stopTimers(): void {
    this.ua._clear(this.retransmitTimer);
    this.ua._clear(this.timeoutTimer);
    this.retransmitTimer = this.timeoutTimer = undefined;
  }
}
