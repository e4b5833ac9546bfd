/** Any NATS-like publish function. */
export type PublishFn<O> = (subject: string, data: Uint8Array, options?: O) => void;

/**
 * Holds publishes until the end of the current turn of the event loop and then makes them
 * together, so the NATS client writes them to its socket in one syscall. Each UDP datagram
 * arrives in its own callback; without this every forwarded message cost its own write
 * (measured: the socket write was the largest item of a transport node's profile).
 */
export class BatchedPublisher<O> {
  private subjects: string[] = [];
  private payloads: Uint8Array[] = [];
  private options: (O | undefined)[] = [];
  private scheduled = false;

  constructor(private readonly publish: PublishFn<O>) {}

  send(subject: string, data: Uint8Array, options?: O): void {
    this.subjects.push(subject);
    this.payloads.push(data);
    this.options.push(options);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Publishes everything held now (also called on shutdown). */
  readonly flush = (): void => {
    this.scheduled = false;
    const { subjects, payloads, options } = this;
    this.subjects = [];
    this.payloads = [];
    this.options = [];
    for (let i = 0; i < subjects.length; i++) this.publish(subjects[i] as string, payloads[i] as Uint8Array, options[i]);
  };
}
