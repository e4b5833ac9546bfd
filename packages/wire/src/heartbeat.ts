export const HEARTBEAT_INTERVAL_MS = 1_000;
/** A worker is dropped after this many heartbeats in a row fail to arrive. */
export const HEARTBEATS_MISSED_TO_DROP = 3;
