import type { Backend } from '../backend.ts';
import type { Balancer, PickContext } from './balancer.ts';

/**
 * The candidate with the lowest `cost`. Ties are broken in turn, starting
 * after the last pick, so that when every cost is equal (one-at-a-time
 * traffic, where every count is 0; backends not measured yet) the picks
 * spread over all candidates instead of always hitting the first.
 */
export function lowestCost(cost: (backend: Backend, now: number) => number): Balancer {
  let start = 0;
  return {
    pick(candidates: readonly Backend[], context: PickContext): Backend {
      const count = candidates.length;
      const first = start < count ? start : 0;
      let best = first;
      let bestCost = cost(candidates[first]!, context.now);
      for (let step = 1; step < count; step++) {
        let i = first + step;
        if (i >= count) i -= count;
        const candidateCost = cost(candidates[i]!, context.now);
        if (candidateCost < bestCost) {
          best = i;
          bestCost = candidateCost;
        }
      }
      start = best + 1;
      return candidates[best]!;
    },
  };
}
