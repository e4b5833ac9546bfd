import type { CallActor } from '../call/call-actor.js';

/**
 * What a call tells its snapshots, from its own actor's turn: each is a flag or a table entry,
 * never I/O (the writer captures and writes on a later turn).
 */
export interface CallSnapshotting {
  /** The call is confirmed (answered and ACKed): from now on it is snapshotted. Early calls never are. */
  confirmed(call: CallActor): void;
  /** Something the snapshot holds may have changed (an in-dialog transaction started or ended, the pair, a transfer). */
  changed(callId: string): void;
  /** The call is over: its snapshot is deleted. */
  ended(callId: string): void;
}
