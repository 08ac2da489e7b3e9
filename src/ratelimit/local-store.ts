import { fullAt, takeToken, type Take } from './token-bucket.ts';

/** Default bound on the buckets one limit keeps in memory (some tens of MB at most). */
export const DEFAULT_MAX_BUCKETS = 100_000;

/** A sweep walks every bucket, so it waits for at least this many new keys (or one per bucket kept). */
const MIN_INSERTS_BETWEEN_SWEEPS = 1_024;

export interface LocalStoreOptions {
  maxBuckets?: number;
  /**
   * Counts the tokens taken per key until takeCounts() collects them, for a
   * worker group whose workers share each limit (see RateLimitStores).
   */
  countTakes?: boolean;
}

/**
 * The buckets of one limit in this process, by key. Decisions are synchronous.
 *
 * Keys come from clients (addresses, header values), so the map must not grow
 * with the number of distinct clients ever seen. A bucket that has refilled
 * to full behaves exactly like a bucket never created, so sweeps drop those;
 * a sweep runs after as many new keys as there are buckets (amortised O(1)
 * per request), and whenever the owner calls sweep() on a timer. If more than
 * `maxBuckets` keys are all active at once, the least recently used bucket is
 * forgotten: that client gets a fresh burst, which loosens the limit for it
 * but keeps memory bounded whatever the traffic.
 */
export class LocalBucketStore {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly #maxBuckets: number;
  // Map iteration order is insertion order; re-inserting on every use keeps
  // the least recently used bucket first, where eviction finds it in O(1).
  readonly #buckets = new Map<string, Take>();
  #insertsUntilSweep = MIN_INSERTS_BETWEEN_SWEEPS;
  /** Tokens taken per key since the last takeCounts(); undefined unless countTakes. */
  #taken: Map<string, number> | undefined;

  constructor(ratePerSecond: number, burst: number, options: LocalStoreOptions = {}) {
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.#maxBuckets = Math.max(1, options.maxBuckets ?? DEFAULT_MAX_BUCKETS);
    if (options.countTakes) this.#taken = new Map();
  }

  /** Buckets held now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes a token for `key` at `now` (milliseconds on one monotonic clock for the store's whole life). */
  take(key: string, now: number): Take {
    const bucket = this.#buckets.get(key);
    const result = takeToken(bucket, now, this.ratePerSecond, this.burst);
    if (bucket) this.#buckets.delete(key);
    else this.#makeRoom(now);
    this.#buckets.set(key, result);
    if (this.#taken !== undefined && result.allowed) this.#taken.set(key, (this.#taken.get(key) ?? 0) + 1);
    return result;
  }

  /** The tokens taken per key since the last call (with countTakes), and starts counting anew. */
  takeCounts(): Map<string, number> {
    const taken = this.#taken ?? new Map<string, number>();
    if (this.#taken !== undefined) this.#taken = new Map();
    return taken;
  }

  /**
   * Takes `tokens` that another process took for `key` at about `now`: the
   * bucket may go below zero, a debt that refilling pays back before the
   * next request passes, so that the processes together allow one limit.
   */
  debit(key: string, tokens: number, now: number): void {
    const bucket = this.#buckets.get(key);
    let level = this.burst;
    let updatedAt = now;
    if (bucket) {
      const elapsed = now - bucket.updatedAt;
      if (elapsed > 0) level = Math.min(this.burst, bucket.tokens + (elapsed * this.ratePerSecond) / 1_000);
      else {
        level = bucket.tokens;
        updatedAt = bucket.updatedAt;
      }
      this.#buckets.delete(key);
    } else this.#makeRoom(now);
    this.#buckets.set(key, { tokens: level - tokens, updatedAt, allowed: true, retryAfterMs: 0 });
  }

  /** Drops every bucket that is full again at `now`; returns how many were dropped. */
  sweep(now: number): number {
    let dropped = 0;
    for (const [key, bucket] of this.#buckets) {
      if (fullAt(bucket, this.ratePerSecond, this.burst) <= now) {
        this.#buckets.delete(key);
        dropped++;
      }
    }
    this.#insertsUntilSweep = Math.max(MIN_INSERTS_BETWEEN_SWEEPS, this.#buckets.size);
    return dropped;
  }

  #makeRoom(now: number): void {
    if (--this.#insertsUntilSweep <= 0) this.sweep(now);
    if (this.#buckets.size >= this.#maxBuckets) {
      const oldest = this.#buckets.keys().next();
      if (!oldest.done) this.#buckets.delete(oldest.value);
    }
  }
}
