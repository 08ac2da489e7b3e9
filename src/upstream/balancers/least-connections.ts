import type { Backend } from '../backend.ts';
import type { Balancer } from './balancer.ts';

/**
 * The available backend with the fewest requests in flight. Ties are broken
 * in turn, starting after the last pick, so that even one-at-a-time traffic
 * (where every count is 0) spreads over all backends instead of always
 * hitting the first.
 */
export function leastConnections(): Balancer {
  let start = 0;
  return {
    pick(backends: readonly Backend[]): Backend | undefined {
      const n = backends.length;
      let best: Backend | undefined;
      let bestIndex = 0;
      for (let tried = 0; tried < n; tried++) {
        const i = (start + tried) % n;
        const backend = backends[i]!;
        if (backend.available && (best === undefined || backend.inflight < best.inflight)) {
          best = backend;
          bestIndex = i;
        }
      }
      if (best) start = (bestIndex + 1) % n;
      return best;
    },
  };
}
