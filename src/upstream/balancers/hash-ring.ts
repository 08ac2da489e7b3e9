import type { Backend } from '../backend.ts';
import { FNV_OFFSET_BASIS, fnv1a, hashWithNumber } from './hash.ts';

/**
 * Ring points per unit of configured weight. With k points a backend's share
 * of the ring strays from its fair share by about 1/sqrt(k): 200 keeps that
 * near 7% while a ring of 10 backends stays at 2,000 points (11 probes).
 */
export const POINTS_PER_WEIGHT = 200;

/**
 * A cap on ring size (1 MiB of hashes plus 1 MiB of owners), reached only
 * with large weights: beyond it every backend gets proportionally fewer
 * points. Points are numbered from 0, so a backend keeps a prefix of the
 * points it had and scaling moves few keys.
 */
export const MAX_RING_POINTS = 1 << 18;

/**
 * A consistent-hash ring: each backend is hashed onto a 32-bit circle at
 * `label#0`, `label#1`, ... (weight × POINTS_PER_WEIGHT points), and a key
 * belongs to the first point at or after its hash, wrapping around. Removing
 * a backend hands only its own arcs to their successors; adding one takes
 * only the arcs it now precedes.
 *
 * Everything depends on labels, never on positions in the candidate list:
 * the same backends give the same ring in any order, and points that
 * collide on a hash go to the backend whose label sorts first.
 */
export class HashRing {
  /** Point hashes, ascending. */
  readonly #hashes: Uint32Array;
  /** For each point, its backend's index in #backends. */
  readonly #owners: Uint32Array;
  /** The backends, sorted by label. */
  readonly #backends: readonly Backend[];

  constructor(candidates: readonly Backend[]) {
    const backends = [...candidates].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
    let totalWeight = 0;
    for (const backend of backends) totalWeight += backend.weight;
    const pointsPerWeight = Math.min(POINTS_PER_WEIGHT, MAX_RING_POINTS / totalWeight);

    const pointCounts = backends.map((backend) => Math.max(1, Math.round(backend.weight * pointsPerWeight)));
    let total = 0;
    for (const count of pointCounts) total += count;
    const hashes = new Uint32Array(total);
    const owners = new Uint32Array(total);
    let next = 0;
    for (let rank = 0; rank < backends.length; rank++) {
      const prefixState = fnv1a(FNV_OFFSET_BASIS, `${backends[rank]!.label}#`);
      for (let i = 0; i < pointCounts[rank]!; i++) {
        hashes[next] = hashWithNumber(prefixState, i);
        owners[next++] = rank;
      }
    }
    // Points go in by label order and the sort is stable, so colliding points stay in label order.
    sortByHash(hashes, owners);
    this.#hashes = hashes;
    this.#owners = owners;
    this.#backends = backends;
  }

  /** How many points the ring has. */
  get size(): number {
    return this.#hashes.length;
  }

  /** The point a key hash belongs to: the first at or after it, wrapping past the top. */
  pointFor(hash: number): number {
    const hashes = this.#hashes;
    let low = 0;
    let high = hashes.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (hashes[middle]! < hash) low = middle + 1;
      else high = middle;
    }
    return low === hashes.length ? 0 : low;
  }

  /** The backend that owns a point. */
  ownerOf(point: number): Backend {
    return this.#backends[this.#owners[point]!]!;
  }

  /** The point after `point`, wrapping. */
  nextPoint(point: number): number {
    return point + 1 === this.#hashes.length ? 0 : point + 1;
  }
}

/**
 * Sorts points by hash, carrying their owners along: a stable LSD radix sort,
 * a byte per pass. It is several times faster than a comparison sort here
 * (a 20,000-point ring sorts in well under a millisecond) and rings are
 * rebuilt whenever the candidate set changes. After the fourth pass the
 * points are back in the arrays passed in.
 */
function sortByHash(hashes: Uint32Array, owners: Uint32Array): void {
  const count = hashes.length;
  let fromHashes = hashes;
  let fromOwners = owners;
  let toHashes: Uint32Array = new Uint32Array(count);
  let toOwners: Uint32Array = new Uint32Array(count);
  const starts = new Uint32Array(256);
  for (let shift = 0; shift < 32; shift += 8) {
    starts.fill(0);
    for (let i = 0; i < count; i++) starts[(fromHashes[i]! >>> shift) & 0xff]!++;
    let sum = 0;
    for (let digit = 0; digit < 256; digit++) {
      const inBucket = starts[digit]!;
      starts[digit] = sum;
      sum += inBucket;
    }
    for (let i = 0; i < count; i++) {
      const hash = fromHashes[i]!;
      const at = starts[(hash >>> shift) & 0xff]!++;
      toHashes[at] = hash;
      toOwners[at] = fromOwners[i]!;
    }
    [fromHashes, toHashes] = [toHashes, fromHashes];
    [fromOwners, toOwners] = [toOwners, fromOwners];
  }
}
