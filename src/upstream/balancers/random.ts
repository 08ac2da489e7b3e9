import type { Backend } from '../backend.ts';
import type { Balancer, PickContext } from './balancer.ts';
import { perCandidateSet } from './per-candidate-set.ts';

/** What weighted random derives once per candidate set. */
interface WeightTable {
  /** Running totals of the configured weights, in candidate order. */
  cumulative: Float64Array;
  /** Whether every candidate has the same weight (then a plain uniform pick will do). */
  uniform: boolean;
  /**
   * When the last slow start in the set ends (performance.now() ms);
   * -Infinity if none is ramping. Until then configured weights are not the
   * effective ones and each pick reads effective weights afresh. A backend's
   * ramp restarts only when it comes back up, which changes the set.
   */
  steadyFrom: number;
}

function weightTable(candidates: readonly Backend[]): WeightTable {
  const cumulative = new Float64Array(candidates.length);
  let total = 0;
  let steadyFrom = -Infinity;
  for (let i = 0; i < candidates.length; i++) {
    const backend = candidates[i]!;
    total += backend.weight;
    cumulative[i] = total;
    if (backend.slowStartMs > 0) steadyFrom = Math.max(steadyFrom, backend.upSince + backend.slowStartMs);
  }
  const first = candidates[0]!.weight;
  return { cumulative, uniform: candidates.every((backend) => backend.weight === first), steadyFrom };
}

/** A random candidate, each with probability proportional to its effective weight. */
export function random(): Balancer {
  const tableFor = perCandidateSet(weightTable);
  return {
    pick(candidates: readonly Backend[], context: PickContext): Backend {
      const table = tableFor(candidates);
      if (context.now < table.steadyFrom) return pickRamping(candidates, context.now);
      if (table.uniform) return candidates[Math.floor(Math.random() * candidates.length)]!;
      const { cumulative } = table;
      const target = Math.random() * cumulative[cumulative.length - 1]!;
      // The first running total above the target.
      let low = 0;
      let high = cumulative.length - 1;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (cumulative[middle]! > target) high = middle;
        else low = middle + 1;
      }
      return candidates[low]!;
    },
  };
}

/** The slow path while some candidate is in slow start: two linear passes over effective weights. */
function pickRamping(candidates: readonly Backend[], now: number): Backend {
  let total = 0;
  for (const backend of candidates) total += backend.effectiveWeight(now);
  let target = Math.random() * total;
  for (const backend of candidates) {
    target -= backend.effectiveWeight(now);
    if (target < 0) return backend;
  }
  // Rounding can leave a sliver past the last running total.
  return candidates[candidates.length - 1]!;
}
