import type { Backend } from '../backend.ts';
import type { Balancer, PickContext } from './balancer.ts';

/**
 * Expected cost of sending one more request to `backend`: its peak-EWMA
 * latency times the queue it would join, per unit of effective weight. The
 * +1 on latency keeps a backend with no sample yet (latency 0) comparable by
 * load instead of free, so it is tried soon but not flooded; the +1 on
 * inflight counts the request being placed.
 */
function cost(backend: Backend, now: number): number {
  return ((backend.latency.value + 1) * (backend.inflight + 1)) / backend.effectiveWeight(now);
}

/**
 * The candidate with the lowest expected cost (Finagle's peak-EWMA
 * balancer, over all candidates rather than two). Ties are broken in turn,
 * starting after the last pick, so idle unmeasured candidates all get tried.
 */
export function ewma(): Balancer {
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
