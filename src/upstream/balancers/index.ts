import type { BalanceAlgorithm } from '../../config/types.ts';
import type { Balancer, BalancerOptions } from './balancer.ts';
import { consistentHash } from './consistent-hash.ts';
import { ewma } from './ewma.ts';
import { ipHash } from './ip-hash.ts';
import { leastConnections } from './least-connections.ts';
import { powerOfTwo } from './power-of-two.ts';
import { random } from './random.ts';
import { roundRobin } from './round-robin.ts';
import { weightedRoundRobin } from './weighted-round-robin.ts';

export type { Balancer, BalancerOptions, HashKey, PickContext } from './balancer.ts';

/**
 * Every algorithm by its config name. A new algorithm is one file plus one
 * line here. Each call makes a fresh balancer with its own state.
 */
export const balancers: Record<BalanceAlgorithm, (options: BalancerOptions) => Balancer> = {
  round_robin: roundRobin,
  weighted_round_robin: weightedRoundRobin,
  random,
  least_connections: leastConnections,
  power_of_two: powerOfTwo,
  ewma,
  ip_hash: ipHash,
  consistent_hash: consistentHash,
};
