// A watch of the whole limits bucket: each worker learns the others' shares as they are written,
// which is what lets it admit calls far from a limit without asking the KV (limit-lease.ts).
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import { decodeLimitValue, type LimitValue } from './limit-value.js';

/** A watch that ended on its own is started again after this. */
const REWATCH_MS = 500;

export type LimitEntryListener = (key: string, revision: number, value: LimitValue | undefined | 'unreadable') => void;

export class LimitsWatch {
  private watcher: { stop(): void } | undefined;
  private stopped = false;
  /** Whether entries are being delivered: while not, nothing may be admitted from the view. */
  live = false;

  constructor(
    private readonly onEntry: LimitEntryListener,
    /** The watch could not be started again: the bucket may be gone. */
    private readonly onFailed: () => void,
    private readonly log: Logger | undefined,
  ) {}

  /** Watches `kv` from its current values on (a watch already running is replaced). */
  async start(kv: KV): Promise<void> {
    this.stopped = false;
    this.stopCurrent();
    const watcher = await kv.watch({ key: '>' });
    this.watcher = watcher;
    this.live = true;
    void (async () => {
      for await (const entry of watcher) this.deliver(entry);
    })()
      .catch((err: unknown) => this.log?.warn({ err }, 'call limits watch failed'))
      .finally(() => {
        if (this.watcher !== watcher) return;
        this.live = false;
        this.watcher = undefined;
        if (this.stopped) return;
        setTimeout(() => {
          if (!this.stopped && this.watcher === undefined) this.start(kv).catch(() => this.onFailed());
        }, REWATCH_MS).unref();
      });
  }

  stop(): void {
    this.stopped = true;
    this.stopCurrent();
  }

  private stopCurrent(): void {
    const watcher = this.watcher;
    this.watcher = undefined;
    this.live = false;
    watcher?.stop();
  }

  private deliver(entry: KvWatchEntry): void {
    let value: LimitValue | undefined | 'unreadable';
    try {
      value = entry.operation === 'PUT' ? decodeLimitValue(entry.value) : undefined;
    } catch {
      value = 'unreadable';
    }
    this.onEntry(entry.key, entry.revision, value);
  }
}
