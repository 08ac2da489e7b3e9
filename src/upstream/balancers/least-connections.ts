import type { Backend } from '../backend.ts';
import type { Balancer, PickContext } from './balancer.ts';

/**
 * The candidate with the fewest requests in flight per unit of effective
 * weight. Ties are broken in turn, starting after the last pick, so that
 * one-at-a-time traffic (where every count is 0) spreads over all candidates
 * instead of always hitting the first.
 */
export function leastConnections(): Balancer {
  let start = 0;
  return {
    pick(candidates: readonly Backend[], context: PickContext): Backend {
      const count = candidates.length;
      const first = start < count ? start : 0;
      let best = first;
      let bestInflight = candidates[first]!.inflight;
      let bestWeight = candidates[first]!.effectiveWeight(context.now);
      for (let step = 1; step < count; step++) {
        let i = first + step;
        if (i >= count) i -= count;
        const backend = candidates[i]!;
        const weight = backend.effectiveWeight(context.now);
        // inflight / weight < bestInflight / bestWeight, without dividing.
        if (backend.inflight * bestWeight < bestInflight * weight) {
          best = i;
          bestInflight = backend.inflight;
          bestWeight = weight;
        }
      }
      start = best + 1;
      return candidates[best]!;
    },
  };
}
