import type { Backend } from '../backend.ts';

/**
 * A balancing algorithm: picks one backend from the service's list, skipping
 * those that are not available. It gets the whole list (not a filtered copy)
 * so that picking allocates nothing; it keeps whatever state it needs (a
 * cursor, say) in its own closure. undefined means none is available.
 */
export interface Balancer {
  pick(backends: readonly Backend[]): Backend | undefined;
}
