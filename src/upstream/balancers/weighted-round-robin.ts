import type { Backend } from '../backend.ts';
import type { Balancer, PickContext } from './balancer.ts';
import { perCandidateSet } from './per-candidate-set.ts';

/**
 * nginx's smooth weighted round robin. On every pick each candidate's
 * current weight grows by its effective weight, the largest current weight
 * wins (the first on a tie) and the winner's drops by the total. Over one
 * cycle each candidate is picked in proportion to its weight, and the picks
 * are interleaved: weights 5,1,1 give a a b a c a a, never a a a a a b c.
 *
 * Effective weights are read on every pick because slow start changes them
 * over time without changing the set. Current weights live in one
 * Float64Array per candidate set, by position, so a new set starts from
 * zero as nginx does on a reload.
 */
export function weightedRoundRobin(): Balancer {
  const currentWeightsFor = perCandidateSet((candidates) => new Float64Array(candidates.length));
  return {
    pick(candidates: readonly Backend[], context: PickContext): Backend {
      const current = currentWeightsFor(candidates);
      let total = 0;
      let best = 0;
      for (let i = 0; i < candidates.length; i++) {
        const weight = candidates[i]!.effectiveWeight(context.now);
        current[i]! += weight;
        total += weight;
        if (current[i]! > current[best]!) best = i;
      }
      current[best]! -= total;
      return candidates[best]!;
    },
  };
}
