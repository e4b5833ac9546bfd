import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { BRANCH_COOKIE } from '@switchboard/sip';

/** Slots a cluster's dialogs are spread over (docs/architecture.md "Worker takeover"): 3 hex digits. */
export const SLOT_COUNT = 4096;

const SLOT_HEX = 3;
const SCOPE_HEX = 11;
const RANDOM_HEX = 16;
const MAC_HEX = 12;
/** Verified branches and tags remembered, of each kind (oldest forgotten first). */
const VERIFIED_KEPT = 4096;
const BRANCH = new RegExp(`^${BRANCH_COOKIE}-([0-9a-f]{${RANDOM_HEX}})-([0-9a-f]{${MAC_HEX}})$`);
const TAG = new RegExp(`^([0-9a-f]{${RANDOM_HEX}})\\.([0-9a-f]{${MAC_HEX}})$`);
const SCOPE = new RegExp(`^[0-9a-f]{${SCOPE_HEX}}$`);
const SCOPE_IN = new RegExp(`^(?:${BRANCH_COOKIE}-)?([0-9a-f]{${SCOPE_HEX}})[0-9a-f]{${RANDOM_HEX - SCOPE_HEX}}[-.][0-9a-f]{${MAC_HEX}}$`);

// Ids are minted per transaction and dialog: draw them from a pool instead of asking the
// CSPRNG for 8 bytes each time (measured: randomFillSync was 5% of a worker's profile).
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolAt = POOL_BYTES;
function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolAt = 0;
  }
  poolAt += bytes;
  return pool.toString('hex', poolAt - bytes, poolAt);
}

function scoped(scope: string | undefined): string {
  // no scope: an id nobody routes back (a stateless refusal's tag); any 3 hex digits name some slot
  if (scope === undefined) return randomHex(RANDOM_HEX / 2);
  if (!SCOPE.test(scope)) throw new Error(`routing scope must be ${SCOPE_HEX} lower-case hex digits: ${JSON.stringify(scope)}`);
  return scope + randomHex(3).slice(0, RANDOM_HEX - SCOPE_HEX);
}

/**
 * A call's id: 16 hex digits (64 random bits), so that ids stay unique across the cluster for
 * as long as records are kept (call detail records are filed and deduplicated by it).
 */
export function newCallId(): string {
  return randomHex(8);
}

/** What a call id looks like (see newCallId). */
export const CALL_ID_PATTERN = /^[0-9a-f]{16}$/;

function assertSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) throw new Error(`slot must be an integer in 0..${SLOT_COUNT - 1}: ${slot}`);
}

/**
 * A new scope for `newBranch`/`newTag` (a leg's id): its call's slot in 3 hex digits, then 8
 * random ones. Everything minted in the scope routes to whoever owns the slot.
 */
export function newRoutingScope(slot: number): string {
  assertSlot(slot);
  return slot.toString(16).padStart(SLOT_HEX, '0') + randomHex(4);
}

/** The slot a scope names, or undefined when it is not a scope. */
export function slotOfScope(scope: string): number | undefined {
  return SCOPE.test(scope) ? Number.parseInt(scope.slice(0, SLOT_HEX), 16) : undefined;
}

/**
 * The scope written into one of our branches or tags (the first 11 hex digits of its random
 * part), without checking the MAC: for a worker reading what its transport already verified.
 */
export function scopeOf(branchOrTag: string): string | undefined {
  return SCOPE_IN.exec(branchOrTag)?.[1];
}

/** The slot in the first 3 hex digits of a verified random part. */
function slotIn(random: string): number {
  return Number.parseInt(random.slice(0, SLOT_HEX), 16);
}

/**
 * How a worker writes its call's slot into what the far end echoes back: the branch of its
 * Via (`z9hG4bK-<scope><5 hex>-<mac>`, so responses find it) and its dialog tag
 * (`<scope><5 hex>.<mac>`, so in-dialog requests find it). The slot, not the worker: a slot's
 * owner can change (takeover, handover) while its dialogs go on. The MAC, keyed by the
 * cluster's routing secret, lets a transport refuse forged ids instead of routing them.
 */
export class RoutingIds {
  private readonly key: Buffer;
  /**
   * Ids verified lately, and their slots: a transaction's responses echo one branch, a dialog's
   * requests one tag, and an HMAC per message was a few % of a transport's CPU. Only ids whose
   * MAC checked out are kept, so a forged one never skips the check.
   */
  private readonly verified = { branch: new Map<string, number>(), tag: new Map<string, number>() };

  constructor(secret: string) {
    if (secret.length < 16) throw new Error('routing secret must be at least 16 characters');
    this.key = Buffer.from(secret, 'utf8');
  }

  /** `kind` separates the two uses, so a valid tag cannot be replayed as a branch. */
  private mac(kind: 'branch' | 'tag', random: string): string {
    return createHmac('sha256', this.key).update(kind).update('/').update(random).digest('hex').slice(0, MAC_HEX);
  }

  /**
   * `scope` (newRoutingScope) begins the random part, so the transport finds the slot and the
   * worker the leg a response belongs to without a table (see `scopeOf`).
   */
  newBranch(scope?: string): string {
    const random = scoped(scope);
    return `${BRANCH_COOKIE}-${random}-${this.mac('branch', random)}`;
  }

  newTag(scope?: string): string {
    const random = scoped(scope);
    return `${random}.${this.mac('tag', random)}`;
  }

  /** The slot named by `branch`, or undefined when it is not ours, malformed or forged. */
  slotOfBranch(branch: string): number | undefined {
    return this.verify('branch', branch, BRANCH);
  }

  /** The slot named by dialog tag `tag`, or undefined when it is not ours, malformed or forged. */
  slotOfTag(tag: string): number | undefined {
    return this.verify('tag', tag, TAG);
  }

  private verify(kind: 'branch' | 'tag', id: string, form: RegExp): number | undefined {
    const seen = this.verified[kind];
    const known = seen.get(id);
    if (known !== undefined) return known;
    const m = form.exec(id);
    if (m === null) return undefined;
    const [, random = '', mac = ''] = m;
    const expected = Buffer.from(this.mac(kind, random));
    if (!timingSafeEqual(expected, Buffer.from(mac))) return undefined;
    const slot = slotIn(random);
    if (seen.size >= VERIFIED_KEPT) seen.delete(seen.keys().next().value as string);
    seen.set(id, slot);
    return slot;
  }
}
