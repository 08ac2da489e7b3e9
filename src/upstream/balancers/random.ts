import type { Backend } from '../backend.ts';
import type { Balancer } from './balancer.ts';

/** A uniformly random available backend. */
export function random(): Balancer {
  return {
    pick(backends: readonly Backend[]): Backend | undefined {
      let available = 0;
      for (const backend of backends) if (backend.available) available++;
      if (available === 0) return undefined;
      // Counting first keeps the choice uniform over the available ones
      // without allocating a filtered list.
      let k = Math.floor(Math.random() * available);
      for (const backend of backends) {
        if (backend.available && k-- === 0) return backend;
      }
      return undefined;
    },
  };
}
