import type { Backend } from '../backend.ts';
import type { Balancer } from './balancer.ts';

/** Each candidate in turn, ignoring weights. */
export function roundRobin(): Balancer {
  let next = 0;
  return {
    pick(candidates: readonly Backend[]): Backend {
      // The list may have shrunk since the last pick; start over rather than
      // index past its end.
      const index = next < candidates.length ? next : 0;
      next = index + 1;
      return candidates[index]!;
    },
  };
}
