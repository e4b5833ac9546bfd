// What a call tells its snapshots: the interface lives beside the rest of the engine's wiring.
export type { CallSnapshotting } from '../context.js';
