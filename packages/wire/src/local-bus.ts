/**
 * What a handler of a local subject reads: the parts of a NATS message the SIP handlers use, and,
 * when the sender handed over the envelope itself (`handOver`), that envelope as it built it: the
 * same build in the same process, so there is nothing to encode, decode or check.
 */
export interface LocalMessage<H> {
  subject: string;
  data?: Uint8Array | undefined;
  value?: object | undefined;
  headers?: H | undefined;
}

/**
 * The SIP subjects of a transport node and a worker sharing one process (the co-located layout,
 * `switchboard-edge-worker`): what one of them publishes on a subject the other serves is handed
 * over in the process instead of crossing nats-server twice. The envelopes are the same bytes
 * either way; only the SIP between these two skips NATS. Heartbeats, limits, snapshots, records,
 * operations and the traffic of every other worker and transport stay on NATS.
 *
 * Delivery is synchronous: both sides publish from a turn of their own (BatchedPublisher), never
 * from inside a handler of the other, and a handler catches what it throws, as NATS callbacks do.
 */
export class LocalBus<H = unknown> {
  private readonly served = new Map<string, (msg: LocalMessage<H>) => void>();
  private handedOver = 0;

  /** `handle` gets what this process publishes on `subject` from now on (one handler per subject). */
  serve(subject: string, handle: (msg: LocalMessage<H>) => void): void {
    if (this.served.has(subject)) throw new Error(`local subject ${subject} is served already`);
    this.served.set(subject, handle);
  }

  /** The subject's messages go to NATS again (its handler is stopping). */
  unserve(subject: string): void {
    this.served.delete(subject);
  }

  /** Hands `data` to this process's handler of `subject`: false when there is none (publish it to NATS). */
  deliver(subject: string, data: Uint8Array, headers?: H): boolean {
    const handle = this.handlerOf(subject);
    handle?.({ subject, data, headers });
    return handle !== undefined;
  }

  /**
   * Hands an envelope object to this process's handler of `subject`, unencoded: msgpack's encode
   * and decode were ~7 % of an edge-worker's CPU under load (issue 17). False when none serves it.
   */
  handOver(subject: string, value: object, headers?: H): boolean {
    const handle = this.handlerOf(subject);
    handle?.({ subject, value, headers });
    return handle !== undefined;
  }

  /** The handler that takes a message on `subject` now (counted), if any. */
  private handlerOf(subject: string): ((msg: LocalMessage<H>) => void) | undefined {
    const handle = this.served.get(subject);
    if (handle !== undefined) this.handedOver++;
    return handle;
  }

  /** Messages handed over in the process since it started (stats: what skipped NATS). */
  get delivered(): number {
    return this.handedOver;
  }
}
