import type { Backend } from '../backend.ts';
import type { Balancer, BalancerOptions, PickContext } from './balancer.ts';
import { mix32 } from './hash.ts';
import { HashRing } from './hash-ring.ts';
import { keyHasher } from './hash-key.ts';
import { perCandidateSet } from './per-candidate-set.ts';

/** Salt for deriving a second, independent number from a key hash (the golden ratio's bits). */
const ADMISSION_SALT = 0x9e3779b9;
const UINT32_RANGE = 2 ** 32;

/**
 * Consistent hashing on a ring of virtual nodes (see HashRing): requests
 * with the same key go to the same backend while the set is unchanged, and
 * a change of the set moves only the keys that must move.
 *
 * The ring is sized by configured weights and built once per candidate set.
 * Slow start (effective weight below configured) is honoured without
 * reshaping the ring: a ramping backend admits a key only if the key's own
 * fixed fraction (a second hash of it, in [0, 1)) is below the ramp's
 * fraction; other keys go on along the ring to the next backend that admits
 * them, which is where they were before it came up. As the ramp rises each
 * key moves to it once and stays, and its share of keys tracks its effective
 * weight.
 */
export function consistentHash(options: BalancerOptions): Balancer {
  const hashKey = keyHasher(options.hashKey);
  const ringFor = perCandidateSet((candidates) => new HashRing(candidates));
  return {
    pick(candidates: readonly Backend[], context: PickContext): Backend {
      if (candidates.length === 1) return candidates[0]!;
      const ring = ringFor(candidates);
      const keyHash = hashKey(context);
      const point = ring.pointFor(keyHash);
      const owner = ring.ownerOf(point);
      if (owner.slowStartMs <= 0) return owner;
      return admittingOwner(ring, point, mix32(keyHash ^ ADMISSION_SALT) / UINT32_RANGE, context.now);
    },
  };
}

function admits(backend: Backend, keyFraction: number, now: number): boolean {
  return backend.slowStartMs <= 0 || keyFraction < backend.effectiveWeight(now) / backend.weight;
}

/** The first owner from `point` on that admits the key; the point's own owner if none does. */
function admittingOwner(ring: HashRing, point: number, keyFraction: number, now: number): Backend {
  let refused: Backend | undefined;
  let current = point;
  for (let step = 0; step < ring.size; step++, current = ring.nextPoint(current)) {
    const owner = ring.ownerOf(current);
    if (owner === refused) continue;
    if (admits(owner, keyFraction, now)) return owner;
    refused = owner;
  }
  return ring.ownerOf(point);
}
