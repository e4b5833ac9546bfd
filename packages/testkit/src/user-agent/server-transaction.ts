import { serializeMessage, type SipRequest, type SipResponse } from '@switchboard/sip';
import type { Flow } from './flow.js';
import type { TransactionHost } from './transaction-host.js';

/** The agent of a server transaction: it matches requests to transactions by this table, and says where responses go. */
export interface ServerTransactionHost extends TransactionHost {
  readonly _serverTxs: Map<string, ServerTransaction>;
  /** Where a response to `req`, received on `source`, goes (RFC 3261 §18.2.2). */
  _responseFlow(req: SipRequest, source: Flow): Flow;
}

/** The call an INVITE server transaction serves (a Call, call.ts): told of a CANCEL and of the ACK of a failure. */
export interface InviteServerCall {
  readonly localTag: string;
  _onCancel(cancel: SipRequest): void;
  _onAckOfFailure(ack: SipRequest): void;
}

/** A server transaction (RFC 3261 §17.2): answers retransmitted requests with the last response. */
export class ServerTransaction {
  response: SipResponse | undefined;
  raw: Buffer | undefined;
  /** Drop the request's retransmissions (and a CANCEL of it) without a word. */
  ignoring = false;
  acked = false;
  call: InviteServerCall | undefined;
  readonly flow: Flow;
  private timerG: NodeJS.Timeout | undefined;

  constructor(
    private readonly ua: ServerTransactionHost,
    readonly request: SipRequest,
    source: Flow,
    readonly key: string,
  ) {
    this.flow = ua._responseFlow(request, source);
    ua._serverTxs.set(key, this);
    // an INVITE's lives until its final response (a CANCEL must still find it), the others a while
    if (request.method !== 'INVITE') this.expire();
  }

  private expire(): void {
    this.ua._after(64 * this.ua.t1 + 5_000, () => {
      if (this.ua._serverTxs.get(this.key) === this) this.ua._serverTxs.delete(this.key);
    });
  }

  respond(res: SipResponse): Buffer {
    if (this.request.method === 'INVITE' && res.status >= 200 && (this.response === undefined || this.response.status < 200)) this.expire();
    this.response = res;
    this.raw = serializeMessage(res);
    this.ua._fire(this.ua._send(res, this.flow, false, this.raw));
    if (this.request.method === 'INVITE' && res.status >= 300 && this.flow.transport === 'udp') {
      // Timer G: retransmit the final non-2xx until the ACK, Timer H gives up
      const deadline = Date.now() + 64 * this.ua.t1;
      const again = (interval: number) => {
        this.timerG = this.ua._after(interval, () => {
          if (this.acked || Date.now() >= deadline || this.response !== res) return;
          this.ua._fire(this.ua._send(res, this.flow, true, this.raw));
          again(Math.min(interval * 2, this.ua.t2));
        });
      };
      again(this.ua.t1);
    }
    return this.raw;
  }

  /** The request came again: the last response goes again. */
  retransmitted(): void {
    if (this.ignoring || this.response === undefined) return;
    this.ua._fire(this.ua._send(this.response, this.flow, true, this.raw));
  }

  ack(): void {
    this.acked = true;
    this.ua._clear(this.timerG);
  }
}
