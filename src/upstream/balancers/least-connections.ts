import type { Backend } from '../backend.ts';
import type { Balancer } from './balancer.ts';
import { lowestCost } from './lowest-cost.ts';

/** Requests in flight per unit of effective weight. */
function load(backend: Backend, now: number): number {
  return backend.inflight / backend.effectiveWeight(now);
}

/** The candidate with the fewest requests in flight per unit of weight; ties in turn. */
export function leastConnections(): Balancer {
  return lowestCost(load);
}
