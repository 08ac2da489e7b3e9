import type { Backend } from '../backend.ts';
import { BackendPool } from './pool.ts';

/**
 * Keep-alive connection pools to the backends, one per backend address and
 * connect timeout. Like the backends, pools outlive a reload, so a reload
 * does not drop warm connections.
 */
export class Transport {
  readonly #pools = new Map<string, BackendPool>();

  pool(backend: Backend, connectTimeoutMs: number): BackendPool {
    const key = `${backend.label} ${connectTimeoutMs}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new BackendPool({ host: backend.address.host, port: backend.address.port, connectMs: connectTimeoutMs }, backend.label);
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** Closes idle connections now and the others as their responses end. */
  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close()));
  }

  /** Ends every pooled connection now, in-flight requests included. */
  async destroy(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    for (const pool of pools) pool.destroy();
  }
}
