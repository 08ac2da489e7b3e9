import type { Address } from '../config/types.ts';
import { Backend } from './backend.ts';

/**
 * Backends by service and address. A reload asks the registry again for the
 * same service and address and gets the same object back, with its health and
 * in-flight count intact.
 */
export class BackendRegistry {
  readonly #backends = new Map<string, Backend>();

  get(service: string, address: Address): Backend {
    const key = `${service}\u0000${address.host}\u0000${address.port}`;
    let backend = this.#backends.get(key);
    if (!backend) {
      backend = new Backend(service, address);
      this.#backends.set(key, backend);
    }
    return backend;
  }

  /** Forgets backends no live service uses any more. */
  retain(inUse: ReadonlySet<Backend>): void {
    for (const [key, backend] of this.#backends) {
      if (!inUse.has(backend)) this.#backends.delete(key);
    }
  }
}
