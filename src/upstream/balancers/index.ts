import type { BalanceAlgorithm } from '../../config/types.ts';
import type { Balancer } from './balancer.ts';
import { leastConnections } from './least-connections.ts';
import { random } from './random.ts';
import { roundRobin } from './round-robin.ts';

export type { Balancer } from './balancer.ts';

/** Every algorithm by its config name. A new algorithm is one file plus one line here. */
export const balancers: Record<BalanceAlgorithm, () => Balancer> = {
  least_connections: leastConnections,
  round_robin: roundRobin,
  random,
};
