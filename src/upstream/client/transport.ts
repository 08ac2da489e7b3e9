import type { Backend } from '../backend.ts';
import { BackendPool } from './pool.ts';

/**
 * Keep-alive connection pools to the backends, one per backend address and
 * connect timeout. Like the backends, pools outlive a reload, so a reload
 * does not drop warm connections.
 */
export class Transport {
  /** By backend address (host:port), then connect timeout: looked up on every request, so no key is built. */
  readonly #pools = new Map<string, Map<number, BackendPool>>();

  pool(backend: Backend, connectTimeoutMs: number): BackendPool {
    let byTimeout = this.#pools.get(backend.label);
    if (!byTimeout) this.#pools.set(backend.label, (byTimeout = new Map()));
    let pool = byTimeout.get(connectTimeoutMs);
    if (!pool) {
      pool = new BackendPool({ host: backend.address.host, port: backend.address.port, connectMs: connectTimeoutMs }, backend.label);
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

  #take(): BackendPool[] {
    const pools = [...this.#pools.values()].flatMap((byTimeout) => [...byTimeout.values()]);
    this.#pools.clear();
    return pools;
  }
}
