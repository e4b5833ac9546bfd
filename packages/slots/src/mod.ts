// @switchboard/slots — who owns which slot (JetStream KV `sb-slots`): claim, takeover, handover and release by compare-and-set, and a watched SlotTable.
export { SlotRegistry, type SlotRegistryOptions, type SlotGain } from './slot-registry.js';
export { DEFAULT_SLOTS_BUCKET, slotKey } from './slots-bucket.js';
export { decodeSlotOwner, encodeSlotOwner } from './slot-value.js';
