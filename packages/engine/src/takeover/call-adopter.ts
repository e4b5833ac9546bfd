// The seam between slot ownership (worker/: who owns which slot, takeover, fencing, handover)
// and the calls in a slot (takeover/: snapshots, rebuilding calls, dropping them). See
// docs/architecture.md "Worker takeover".

export interface SlotAdoption {
  /** Calls rebuilt from the slot's snapshots. */
  readonly calls: number;
  /** Snapshots that could not be read (another version, corrupt): logged, their calls lost. */
  readonly unreadable: number;
}

/** What the worker asks of the calls in a slot as ownership of the slot changes. */
export interface CallAdopter {
  /**
   * The slot became this worker's (a takeover or a handover to it): load its snapshots, rewrite
   * each (so a zombie's next write fails), rebuild their calls. The slot is announced to the
   * transports, and the router lets its messages through, only once this resolves.
   */
  adoptSlot(slot: number): Promise<SlotAdoption>;
  /**
   * Handover: write the latest snapshot of every call in `slot` and resolve once the bucket
   * confirmed them all (rejects after `timeoutMs`).
   */
  flushSlot(slot: number, timeoutMs: number): Promise<void>;
  /**
   * The slot is no longer this worker's (handed over, or taken while it was cut off): stop its
   * calls without sending anything and without records; their limit holds leave this worker's
   * share. Returns how many calls were dropped.
   */
  dropSlot(slot: number): number;
}

/** Until snapshots exist: a slot adopts nothing, and dropping stops nothing. */
export const NO_ADOPTION: CallAdopter = {
  adoptSlot: async () => ({ calls: 0, unreadable: 0 }),
  flushSlot: async () => {},
  dropSlot: () => 0,
};
