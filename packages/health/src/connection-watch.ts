/** What a NATS connection (@nats-io/nats-core's NatsConnection) offers to be followed; structural, so this package needs no NATS client. */
export interface ConnectionStatusSource {
  status(): AsyncIterable<{ type: string }>;
  isClosed(): boolean;
}

/**
 * Whether a NATS connection is up, from its status events: down from `disconnect` to
 * `reconnect`, and for good once closed. Made right after the first connect, so it starts up.
 */
export class ConnectionWatch {
  private connected = true;

  constructor(private readonly connection: ConnectionStatusSource) {
    void this.follow();
  }

  get up(): boolean {
    return this.connected && !this.connection.isClosed();
  }

  private async follow(): Promise<void> {
    for await (const s of this.connection.status()) {
      if (s.type === 'disconnect') this.connected = false;
      else if (s.type === 'reconnect') this.connected = true;
    }
  }
}
