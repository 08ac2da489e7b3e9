import type { RateLimitConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { LocalBucketStore, type LocalStoreOptions } from './local-store.ts';
import { RedisBucketStore, RedisConnection } from './redis-store.ts';

/** How often every local store drops its full buckets, so memory shrinks after a crowd of clients has gone. */
const SWEEP_INTERVAL_MS = 10_000;

export type RedisRateLimitConfig = RateLimitConfig & { store: { kind: 'redis'; url: string } };

export interface RateLimitStoresOptions extends LocalStoreOptions {
  /** false: Redis clients are made closed and never connect, for a process that compiles configs but serves nothing (a worker group's primary). */
  connectRedis?: boolean;
}

/** The tokens one process took from one local limit's buckets lately, by key: what the workers of a group tell each other. */
export interface RateCounts {
  readonly limit: string;
  /** The limit's rate and burst: counts from buckets of another size are not the same buckets, and are ignored. */
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly taken: ReadonlyArray<readonly [key: string, tokens: number]>;
}

/**
 * Where the buckets of every rate limit live, for the life of one weir
 * instance (like the BackendRegistry): a reload asks again and gets the same
 * buckets back for a limit with the same id, rate and burst, so a reload
 * does not hand every client a fresh burst. One Redis client per URL is
 * shared by every limit and every runtime that names it. ioredis is loaded
 * by the first RedisConnection, so a weir with only local limits never loads it.
 */
export class RateLimitStores {
  readonly #locals = new Map<string, LocalBucketStore>();
  readonly #connections = new Map<string, RedisConnection>();
  readonly #localOptions: LocalStoreOptions;
  readonly #connectRedis: boolean;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: RateLimitStoresOptions = {}) {
    const { connectRedis = true, ...local } = options;
    this.#localOptions = local;
    this.#connectRedis = connectRedis;
    this.#sweeper = setInterval(() => this.sweep(performance.now()), SWEEP_INTERVAL_MS);
    // The sweep is housekeeping: it must not keep a host program alive.
    this.#sweeper.unref();
  }

  /** The limit's buckets in this process: its store when local, its fallback when in Redis. */
  local(config: RateLimitConfig): LocalBucketStore {
    const existing = this.#locals.get(config.id);
    if (existing && existing.ratePerSecond === config.ratePerSecond && existing.burst === config.burst) return existing;
    // Buckets counted at another rate or size would mean something else now.
    const store = new LocalBucketStore(config.ratePerSecond, config.burst, this.#localOptions);
    this.#locals.set(config.id, store);
    return store;
  }

  /** The limit's buckets in Redis, on the client shared by its URL, with its local fallback. */
  redis(config: RedisRateLimitConfig, log: Logger): RedisBucketStore {
    let connection = this.#connections.get(config.store.url);
    if (!connection) {
      connection = new RedisConnection(config.store.url, log, { connect: this.#connectRedis });
      this.#connections.set(config.store.url, connection);
    }
    return new RedisBucketStore(connection, config.id, this.local(config));
  }

  /**
   * Forgets the buckets of limits that are no longer configured and closes
   * Redis clients no limit uses. Call after a reload with every limit of the
   * new runtime; requests still running on the old one then decide locally.
   */
  retain(inUse: Iterable<RateLimitConfig>): void {
    const ids = new Set<string>();
    const urls = new Set<string>();
    for (const config of inUse) {
      ids.add(config.id);
      if (config.store.kind === 'redis') urls.add(config.store.url);
    }
    for (const id of this.#locals.keys()) if (!ids.has(id)) this.#locals.delete(id);
    for (const [url, connection] of this.#connections) {
      if (urls.has(url)) continue;
      this.#connections.delete(url);
      void connection.close();
    }
  }

  /**
   * Worker groups (with countTakes): the tokens taken from each local limit
   * since the last call, for the other workers. Limits nothing was taken
   * from are left out.
   */
  takeCounts(): RateCounts[] {
    const counts: RateCounts[] = [];
    for (const [limit, store] of this.#locals) {
      const taken = store.takeCounts();
      if (taken.size > 0) counts.push({ limit, ratePerSecond: store.ratePerSecond, burst: store.burst, taken: [...taken] });
    }
    return counts;
  }

  /**
   * Takes from this process's buckets the tokens that other workers took
   * (their takeCounts()), so that every worker's buckets count the whole
   * group's requests: one limit for the group, with no message per request.
   */
  debit(counts: readonly RateCounts[], now: number): void {
    for (const { limit, ratePerSecond, burst, taken } of counts) {
      const store = this.#locals.get(limit);
      if (!store || store.ratePerSecond !== ratePerSecond || store.burst !== burst) continue;
      for (const [key, tokens] of taken) store.debit(key, tokens, now);
    }
  }

  /** Drops full buckets everywhere; the timer calls it, tests may too. */
  sweep(now: number): void {
    for (const store of this.#locals.values()) store.sweep(now);
  }

  /** Stops the sweep and quits every Redis client. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    const connections = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(connections.map((connection) => connection.close()));
  }
}
