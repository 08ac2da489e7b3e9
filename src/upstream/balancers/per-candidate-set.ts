import type { Backend } from '../backend.ts';

/**
 * Memoizes what a balancer derives from a candidate set (a hash ring,
 * cumulative weights, current weights), keyed by the identity of the array:
 * the service passes the same array object until the set changes.
 *
 * The last set is checked first, by identity, so the common case costs one
 * comparison. A WeakMap behind it keeps a service that alternates between
 * two sets (primaries and backups, say) from rebuilding on every switch, and
 * lets sets that are no longer used be collected.
 */
export function perCandidateSet<Derived>(
  derive: (candidates: readonly Backend[]) => Derived,
): (candidates: readonly Backend[]) => Derived {
  const bySet = new WeakMap<readonly Backend[], Derived>();
  let lastSet: readonly Backend[] | undefined;
  let lastDerived!: Derived;
  return (candidates) => {
    if (candidates === lastSet) return lastDerived;
    let derived = bySet.get(candidates);
    if (derived === undefined) {
      derived = derive(candidates);
      bySet.set(candidates, derived);
    }
    lastSet = candidates;
    lastDerived = derived;
    return derived;
  };
}
