import type { Backend } from '../backend.ts';
import type { Balancer } from './balancer.ts';
import { lowestCost } from './lowest-cost.ts';

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
 * balancer, over all candidates rather than two); ties in turn, so idle
 * unmeasured candidates all get tried.
 */
export function ewma(): Balancer {
  return lowestCost(cost);
}
