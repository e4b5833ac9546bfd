import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { BRANCH_COOKIE } from '@switchboard/sip';
import { assertNodeId } from './subjects.js';

const RANDOM_HEX = 16;
const MAC_HEX = 12;
const BRANCH = new RegExp(`^${BRANCH_COOKIE}-([A-Za-z0-9]{1,32})-([0-9a-f]{${RANDOM_HEX}})-([0-9a-f]{${MAC_HEX}})$`);
const TAG = new RegExp(`^([A-Za-z0-9]{1,32})\\.([0-9a-f]{${RANDOM_HEX}})\\.([0-9a-f]{${MAC_HEX}})$`);

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

const SCOPE = /^[0-9a-f]{8}$/;

function scoped(scope: string | undefined): string {
  if (scope === undefined) return randomHex(RANDOM_HEX / 2);
  if (!SCOPE.test(scope)) throw new Error(`routing scope must be 8 lower-case hex digits: ${JSON.stringify(scope)}`);
  return scope + randomHex(RANDOM_HEX / 4);
}

/** A new scope for `newBranch`/`newTag` (a leg's id, say). */
/**
 * A call's id: 16 hex digits (64 random bits), so that ids stay unique across the cluster for
 * as long as records are kept (call detail records are filed and deduplicated by it).
 */
export function newCallId(): string {
  return randomHex(8);
}

/** What a call id looks like (see newCallId). */
export const CALL_ID_PATTERN = /^[0-9a-f]{16}$/;

export function newRoutingScope(): string {
  return randomHex(4);
}

/**
 * The scope written into one of our branches or tags (the first 8 hex digits of its random
 * part), without checking the MAC: for a worker reading what its transport already verified.
 */
export function scopeOf(branchOrTag: string): string | undefined {
  const m = /^(?:z9hG4bK-)?[A-Za-z0-9]{1,32}[-.]([0-9a-f]{8})[0-9a-f]{8}[-.][0-9a-f]{12}$/.exec(branchOrTag);
  return m?.[1];
}

/**
 * How a worker writes its id into what the far end echoes back: the branch of its Via
 * (`z9hG4bK-<worker>-<random>-<mac>`, so responses find it) and its dialog tag
 * (`<worker>.<random>.<mac>`, so in-dialog requests find it). The MAC, keyed by the
 * cluster's routing secret, lets a transport refuse forged ids instead of routing them.
 */
export class RoutingIds {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (secret.length < 16) throw new Error('routing secret must be at least 16 characters');
    this.key = Buffer.from(secret, 'utf8');
  }

  /** `kind` separates the two uses, so a valid tag cannot be replayed as a branch. */
  private mac(kind: 'branch' | 'tag', workerId: string, random: string): string {
    return createHmac('sha256', this.key).update(kind).update('/').update(workerId).update('/').update(random).digest('hex').slice(0, MAC_HEX);
  }

  /**
   * `scope` (8 hex digits, optional) becomes the first half of the random part, so the
   * worker can find the leg a response belongs to without a table (see `scopeOf`).
   */
  newBranch(workerId: string, scope?: string): string {
    assertNodeId(workerId, 'worker id');
    const random = scoped(scope);
    return `${BRANCH_COOKIE}-${workerId}-${random}-${this.mac('branch', workerId, random)}`;
  }

  newTag(workerId: string, scope?: string): string {
    assertNodeId(workerId, 'worker id');
    const random = scoped(scope);
    return `${workerId}.${random}.${this.mac('tag', workerId, random)}`;
  }

  /** The worker that wrote `branch`, or undefined when it is not ours, malformed or forged. */
  ownerOfBranch(branch: string): string | undefined {
    return this.verify('branch', BRANCH.exec(branch));
  }

  /** The worker that wrote dialog tag `tag`, or undefined when it is not ours, malformed or forged. */
  ownerOfTag(tag: string): string | undefined {
    return this.verify('tag', TAG.exec(tag));
  }

  private verify(kind: 'branch' | 'tag', m: RegExpExecArray | null): string | undefined {
    if (m === null) return undefined;
    const [, workerId = '', random = '', mac = ''] = m;
    const expected = Buffer.from(this.mac(kind, workerId, random));
    return timingSafeEqual(expected, Buffer.from(mac)) ? workerId : undefined;
  }
}
