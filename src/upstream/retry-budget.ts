const BUCKET_MS = 1_000;
const BUCKETS = 10;

/**
 * Retries may add at most `percent` to the requests of the last 10 s, plus
 * `minPerSecond` whatever the traffic (Finagle's and Linkerd's retry budget).
 * Without it, a service in trouble gets every request several times over,
 * which keeps it in trouble: a retry storm.
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #minPerWindow: number;
  readonly #requests = new Float64Array(BUCKETS);
  readonly #retries = new Float64Array(BUCKETS);
  #bucket = 0;
  #bucketStart = 0;

  constructor(percent: number, minPerSecond: number) {
    this.#ratio = percent / 100;
    this.#minPerWindow = minPerSecond * (BUCKETS * BUCKET_MS) / 1_000;
  }

  recordRequest(now: number): void {
    this.#advance(now);
    this.#requests[this.#bucket]!++;
  }

  /** Whether the budget has a retry left; recordRetry() takes it. */
  canRetry(now: number): boolean {
    this.#advance(now);
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      requests += this.#requests[i]!;
      retries += this.#retries[i]!;
    }
    return retries < this.#minPerWindow + requests * this.#ratio;
  }

  recordRetry(now: number): void {
    this.#advance(now);
    this.#retries[this.#bucket]!++;
  }

  #advance(now: number): void {
    const elapsed = Math.floor((now - this.#bucketStart) / BUCKET_MS);
    if (elapsed <= 0) return;
    for (let step = 0; step < Math.min(elapsed, BUCKETS); step++) {
      this.#bucket = (this.#bucket + 1) % BUCKETS;
      this.#requests[this.#bucket] = 0;
      this.#retries[this.#bucket] = 0;
    }
    this.#bucketStart += elapsed * BUCKET_MS;
  }
}
