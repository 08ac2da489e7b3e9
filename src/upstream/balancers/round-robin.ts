import type { Backend } from '../backend.ts';
import type { Balancer } from './balancer.ts';

/** Each available backend in turn. */
export function roundRobin(): Balancer {
  let next = 0;
  return {
    pick(backends: readonly Backend[]): Backend | undefined {
      const n = backends.length;
      for (let tried = 0; tried < n; tried++) {
        const i = (next + tried) % n;
        const backend = backends[i]!;
        if (backend.available) {
          next = (i + 1) % n;
          return backend;
        }
      }
      return undefined;
    },
  };
}
