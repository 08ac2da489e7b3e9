import type { Address } from '../config/types.ts';
import { Backend, type BackendHooks } from './backend.ts';
import { PLAIN_HTTP1, type UpstreamEndpoint } from './client/endpoint.ts';

function addressKey(service: string, address: Address): string {
  return `${service}\u0000${address.host}\u0000${address.port}`;
}

function keyOf(service: string, address: Address, endpoint: UpstreamEndpoint): string {
  return `${addressKey(service, address)}\u0000${endpoint.key}`;
}

/**
 * Backends by service, address and endpoint (how the server is reached), the
 * live ones. A reload looks up the same service, address and endpoint and
 * gets the same object back, with its health, ejections and in-flight count
 * intact; a server now reached differently (TLS settings, protocol, the
 * files they name) is a new backend.
 *
 * Compiling a config only looks up (lookup() changes nothing live); applying
 * it adopts the backends it uses (adopt()). A compiled config that is never
 * applied leaves the registry as it was.
 */
export class BackendRegistry {
  #live = new Map<string, Backend>();
  /** The live backends by service and address alone, for get(). */
  #byAddress = new Map<string, Backend>();
  /**
   * Made by lookup() and not adopted yet, so that a config naming the same
   * server twice gets one object. adopt() clears the list; a runtime that is
   * never applied leaves only these behind (not live, and handed out again
   * by the next lookup of the same server).
   */
  readonly #pending = new Map<string, Backend>();
  readonly #hooks: BackendHooks;

  /**
   * `hooks` go to every backend it makes: in a worker group's primary, who
   * to tell of changes; in a worker, the primary as the owner of their state.
   */
  constructor(hooks: BackendHooks = {}) {
    this.#hooks = hooks;
  }

  /** The live backend for this service, address and endpoint, or a new one that is not registered until adopt(). */
  lookup(service: string, address: Address, endpoint: UpstreamEndpoint = PLAIN_HTTP1): Backend {
    const key = keyOf(service, address, endpoint);
    const known = this.#live.get(key) ?? this.#pending.get(key);
    if (known) return known;
    const backend = new Backend(service, address, this.#hooks, endpoint);
    this.#pending.set(key, backend);
    return backend;
  }

  /**
   * Makes exactly `inUse` the live backends: registers the new ones, forgets
   * the ones no service uses any more, and returns those.
   */
  adopt(inUse: Iterable<Backend>): Backend[] {
    const live = new Map<string, Backend>();
    const byAddress = new Map<string, Backend>();
    for (const backend of inUse) {
      const key = keyOf(backend.service, backend.address, backend.endpoint);
      if (!live.has(key)) live.set(key, backend);
      const address = addressKey(backend.service, backend.address);
      if (!byAddress.has(address)) byAddress.set(address, backend);
    }
    const removed = [...this.#live].filter(([key]) => !live.has(key)).map(([, backend]) => backend);
    this.#live = live;
    this.#byAddress = byAddress;
    this.#pending.clear();
    return removed;
  }

  /** The live backend for this service and address, if there is one (for the admin API and a worker group). */
  get(service: string, address: Address): Backend | undefined {
    return this.#byAddress.get(addressKey(service, address));
  }

  /** Every live backend. */
  backends(): IterableIterator<Backend> {
    return this.#live.values();
  }
}
