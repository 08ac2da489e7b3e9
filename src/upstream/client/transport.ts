import type { Backend } from '../backend.ts';
import { openPool, type UpstreamPool } from './upstream-pool.ts';

/**
 * Connection pools to the backends, one per way of reaching a server (its
 * address, protocol and TLS settings: Backend.poolKey) and connect timeout.
 * Two services reaching one server the same way share connections; reaching
 * it differently, never. Like the backends, pools outlive a reload, so a
 * reload does not drop warm connections.
 */
export class Transport {
  /** By pool key, then connect timeout: looked up on every request, so no key is built. */
  readonly #pools = new Map<string, Map<number, UpstreamPool>>();

  pool(backend: Backend, connectTimeoutMs: number): UpstreamPool {
    let byTimeout = this.#pools.get(backend.poolKey);
    if (!byTimeout) this.#pools.set(backend.poolKey, (byTimeout = new Map()));
    let pool = byTimeout.get(connectTimeoutMs);
    if (!pool) {
      pool = openPool(backend, connectTimeoutMs);
      byTimeout.set(connectTimeoutMs, pool);
    }
    return pool;
  }

  /** Closes idle connections now and the others as their responses end. */
  async close(): Promise<void> {
    await Promise.all(this.#take().map((pool) => pool.close()));
  }

  /** Ends every pooled connection now, in-flight requests included. */
  async destroy(): Promise<void> {
    for (const pool of this.#take()) pool.destroy();
  }

  #take(): UpstreamPool[] {
    const pools = [...this.#pools.values()].flatMap((byTimeout) => [...byTimeout.values()]);
    this.#pools.clear();
    return pools;
  }
}
