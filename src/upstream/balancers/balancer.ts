import type { HashKey } from '../../config/types.ts';
import type { Backend } from '../backend.ts';

export type { HashKey } from '../../config/types.ts';

/** What a balancer may know about the request it picks a backend for. */
export interface PickContext {
  clientIp: string;
  /** The client's headers, flat [name, value, ...] as sent. */
  headers: readonly string[];
  /** The normalized request path. */
  path: string;
  /** Milliseconds, from performance.now(); one clock read per request, shared. */
  now: number;
}

/**
 * A balancing algorithm. The service hands it the backends that may take a
 * request right now (up, not ejected, weight above 0; never empty) and the
 * balancer picks one. The same array object is passed until the set changes,
 * so a balancer may cache what it derives from it (a hash ring, say) by
 * identity. A balancer keeps its own state (a cursor, current weights) in
 * its closure.
 */
export interface Balancer {
  pick(candidates: readonly Backend[], context: PickContext): Backend;
}

/** What the config may say to a balancer besides its name. */
export interface BalancerOptions {
  /** For the hash algorithms: what to hash. */
  hashKey: HashKey;
}
