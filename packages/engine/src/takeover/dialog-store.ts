// Where snapshots are kept, as the writer and the adopter see it: a key-value store with
// revisions and compare-and-set (JetStream KV in a worker, a map in unit tests).

/** A compare-and-set failed: the key's revision is not the one given (another worker wrote it since). */
export class RevisionConflict extends Error {
  constructor(readonly key: string) {
    super(`revision conflict on ${key}`);
    this.name = 'RevisionConflict';
  }
}

export interface StoredSnapshot {
  readonly value: Uint8Array;
  readonly revision: number;
}

export interface DialogStore {
  /**
   * Writes `value` under `key` if its revision is `previous` (undefined: the key must not exist);
   * resolves to the new revision, rejects with RevisionConflict otherwise.
   */
  put(key: string, value: Uint8Array, previous: number | undefined): Promise<number>;
  get(key: string): Promise<StoredSnapshot | undefined>;
  /** Deletes `key` if its revision is `previous`; rejects with RevisionConflict otherwise. */
  delete(key: string, previous: number): Promise<void>;
  /** The keys under `<prefix>.`. */
  keys(prefix: string): Promise<string[]>;
}

/** In memory, with the same compare-and-set rules: for unit tests and single-process runs. */
export class MemoryDialogStore implements DialogStore {
  private readonly entries = new Map<string, StoredSnapshot>();
  private revision = 0;

  get size(): number {
    return this.entries.size;
  }

  allKeys(): string[] {
    return [...this.entries.keys()];
  }

  put(key: string, value: Uint8Array, previous: number | undefined): Promise<number> {
    const current = this.entries.get(key)?.revision;
    if (current !== previous) return Promise.reject(new RevisionConflict(key));
    const revision = ++this.revision;
    this.entries.set(key, { value: value.slice(), revision });
    return Promise.resolve(revision);
  }

  get(key: string): Promise<StoredSnapshot | undefined> {
    return Promise.resolve(this.entries.get(key));
  }

  delete(key: string, previous: number): Promise<void> {
    if (this.entries.get(key)?.revision !== previous) return Promise.reject(new RevisionConflict(key));
    this.entries.delete(key);
    return Promise.resolve();
  }

  keys(prefix: string): Promise<string[]> {
    return Promise.resolve([...this.entries.keys()].filter((k) => k.startsWith(`${prefix}.`)));
  }
}
