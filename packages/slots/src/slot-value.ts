import type { SlotOwner } from '@switchboard/wire';

/** JSON, so an operator reads it with `nats kv get sb-slots slot.12`. */
export function encodeSlotOwner(owner: SlotOwner): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ worker: owner.worker, epoch: owner.epoch }));
}

/** The owner in a key's value, or undefined when it is not one (logged by the caller, treated as missing). */
export function decodeSlotOwner(data: Uint8Array): SlotOwner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { worker, epoch } = value as { worker?: unknown; epoch?: unknown };
  if (typeof worker !== 'string' || typeof epoch !== 'number' || !Number.isInteger(epoch) || epoch < 0) return undefined;
  return { worker, epoch };
}
