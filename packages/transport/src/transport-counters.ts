/** Why a message was not delivered anywhere. */
export type DropReason =
  | 'unreadable'
  | 'malformed-ack'
  | 'response-not-ours'
  | 'response-owner-gone'
  | 'ack-owner-gone'
  | 'ack-no-worker'
  | 'unframeable-stream'
  | 'bad-envelope'
  | 'oversized'
  /** UDP, NATS unreachable: the peer retransmits (RFC 3261 §17.1.1.2, §17.1.2.2, §13.3.1.4). */
  | 'nats-down'
  /** TCP, NATS unreachable and the connection's (or every connection's) hold full: an ACK or a response. */
  | 'held-full'
  /** UDP, or a response: its slot's owner died and no survivor has announced the slot yet (the peer retransmits). */
  | 'slot-orphaned'
  /** Held for NATS on a TCP connection that closed before it came back. */
  | 'held-connection-closed';

/** What a transport node counts; served on its stats subject. */
export class TransportCounters {
  readonly received = { udp: 0, tcp: 0, tls: 0 };
  readonly sent = { udp: 0, tcp: 0, tls: 0 };
  /**
   * `verifyFailed`: a peer's certificate we refused (outbound: the send fails over);
   * `handshakeFailed`: an inbound handshake that failed (plain TCP on the port, a client without
   * a valid certificate); `reloads`/`reloadsFailed`: PEM files re-read after a change;
   * `peerFilesFailed`: a send to a peer whose own TLS files (its carrier's `tls`) cannot be used.
   */
  readonly tls = { handshakes: 0, handshakeFailed: 0, verifyFailed: 0, reloads: 0, reloadsFailed: 0, peerFilesFailed: 0 };
  forwarded = 0;
  /** Edge-worker: new dialogs given to any active worker because the process was busy. */
  spilled = 0;
  sendFailures = 0;
  keepalives = 0;
  readonly refused: Record<string, number> = {};
  readonly dropped: Partial<Record<DropReason, number>> = {};

  drop(reason: DropReason, n = 1): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + n;
  }

  refuse(status: number): void {
    this.refused[status] = (this.refused[status] ?? 0) + 1;
  }

  snapshot(extra: Record<string, unknown>): Record<string, unknown> {
    return {
      ...extra,
      received: { ...this.received },
      sent: { ...this.sent },
      tls: { ...this.tls },
      forwarded: this.forwarded,
      spilled: this.spilled,
      sendFailures: this.sendFailures,
      keepalives: this.keepalives,
      refused: { ...this.refused },
      dropped: { ...this.dropped },
    };
  }
}
