import type { Balancer } from './balancer.ts';
import { consistentHash } from './consistent-hash.ts';

/** Consistent hashing of the client IP, whatever hash key the config names. */
export function ipHash(): Balancer {
  return consistentHash({ hashKey: { kind: 'client_ip' } });
}
