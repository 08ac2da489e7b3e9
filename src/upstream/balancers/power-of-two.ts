import type { Backend } from '../backend.ts';
import type { Balancer, PickContext } from './balancer.ts';

/**
 * Power of two random choices: two distinct random candidates, the one with
 * fewer requests in flight per unit of effective weight wins. Nearly as good
 * as least connections at spreading load, without every balancer instance
 * (one per worker, say) herding onto the same momentarily idle backend.
 */
export function powerOfTwo(): Balancer {
  return {
    pick(candidates: readonly Backend[], context: PickContext): Backend {
      const count = candidates.length;
      if (count === 1) return candidates[0]!;
      const first = Math.floor(Math.random() * count);
      // A uniform draw from the other count - 1 positions.
      let second = Math.floor(Math.random() * (count - 1));
      if (second >= first) second++;
      const a = candidates[first]!;
      const b = candidates[second]!;
      // b.inflight / b.weight < a.inflight / a.weight, without dividing; a tie keeps a, itself a random one.
      return b.inflight * a.effectiveWeight(context.now) < a.inflight * b.effectiveWeight(context.now) ? b : a;
    },
  };
}
