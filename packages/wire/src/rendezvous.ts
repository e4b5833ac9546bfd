// Rendezvous (highest-random-weight) hashing: every router that knows the same set of
// workers picks the same one for a key, and a worker joining or leaving moves only the
// keys it wins or held (Thaler & Ravishankar, 1998).

/** FNV-1a over the UTF-16 code units of `s`. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's finaliser: full avalanche, so `fmix(key ^ node)` scores are independent per node. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class RendezvousSet {
  private readonly ids: readonly string[];
  private readonly seeds: Uint32Array;

  constructor(ids: Iterable<string>) {
    this.ids = [...new Set(ids)].sort();
    this.seeds = Uint32Array.from(this.ids, (id) => fmix32(fnv1a(id)));
  }

  get size(): number {
    return this.ids.length;
  }

  get members(): readonly string[] {
    return this.ids;
  }

  /** The member that wins `key`, or undefined when the set is empty. */
  pick(key: string): string | undefined {
    const k = fmix32(fnv1a(key));
    let best = -1;
    let bestScore = -1;
    for (let i = 0; i < this.seeds.length; i++) {
      const score = fmix32(k ^ (this.seeds[i] as number));
      // ties (rare) go to the smaller id, so every router agrees
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best === -1 ? undefined : this.ids[best];
  }
}
