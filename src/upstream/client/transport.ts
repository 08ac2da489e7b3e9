import { Pool } from 'undici';
import type { Backend } from '../backend.ts';

/**
 * Keep-alive connection pools to the backends, one per backend address and
 * connect timeout. Like the backends, pools outlive a reload, so a reload
 * does not drop warm connections.
 */
export class Transport {
  readonly #pools = new Map<string, Pool>();

  pool(backend: Backend, connectTimeoutMs: number): Pool {
    const key = `${backend.origin} ${connectTimeoutMs}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new Pool(backend.origin, {
        connect: { timeout: connectTimeoutMs },
        // Backends usually close idle keep-alive connections after 5 s or more;
        // closing ours first avoids sending a request on a closing socket.
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 60_000,
        pipelining: 1,
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => pool.destroy())));
  }

  /** Ends every pooled connection now, in-flight requests included. */
  async destroy(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)));
  }
}
