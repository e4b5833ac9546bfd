// Test support: a dialog store whose writes can be held back (a slow bucket) or never land (the
// worker dies first), for the tests of the CSeq reservation and the requests held for it.
import { MemoryDialogStore, type DialogStore } from '../takeover/dialog-store.js';

export class GatedStore implements DialogStore {
  /** While true, every put waits for release(). */
  held = false;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly inner: MemoryDialogStore = new MemoryDialogStore()) {}
  put(key: string, value: Uint8Array, previous: number | undefined): Promise<number> {
    if (!this.held) return this.inner.put(key, value, previous);
    return new Promise((resolve, reject) => this.waiting.push(() => void this.inner.put(key, value, previous).then(resolve, reject)));
  }
  release(): void {
    this.held = false;
    for (const land of this.waiting.splice(0)) land();
  }
  get = (key: string) => this.inner.get(key);
  delete = (key: string, previous: number) => this.inner.delete(key, previous);
  keys = (prefix: string) => this.inner.keys(prefix);
}
