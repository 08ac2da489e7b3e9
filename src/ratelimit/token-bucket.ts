/** A bucket as it stands at `updatedAt` (milliseconds, on the caller's clock). */
export interface Bucket {
  readonly tokens: number;
  readonly updatedAt: number;
}

/** What one request got from a bucket. */
export interface Decision {
  readonly allowed: boolean;
  /** When refused, the time until one whole token is back; 0 when allowed. */
  readonly retryAfterMs: number;
}

/** The decision and the bucket after it, in one object so that the local store keeps it as is. */
export interface Take extends Bucket, Decision {}

/**
 * Refill arithmetic with fractional tokens and fractional milliseconds leaves
 * values like 0.9999999999999998 where the exact answer is 1; without the
 * slack, a client that waits exactly the advertised time would be refused.
 */
const SLACK = 1e-9;

/**
 * A token bucket of `burst` tokens refilled continuously at `ratePerSecond`:
 * a request takes one token, and is refused while less than one is left.
 * `bucket` undefined is a bucket never used, which is full. A clock that steps
 * back refills nothing rather than draining the bucket.
 */
export function takeToken(bucket: Bucket | undefined, now: number, ratePerSecond: number, burst: number): Take {
  let tokens = burst;
  let updatedAt = now;
  if (bucket) {
    const elapsed = now - bucket.updatedAt;
    if (elapsed > 0) {
      tokens = Math.min(burst, bucket.tokens + (elapsed * ratePerSecond) / 1_000);
    } else {
      tokens = bucket.tokens;
      updatedAt = bucket.updatedAt;
    }
  }
  if (tokens >= 1 - SLACK) return { tokens: Math.max(0, tokens - 1), updatedAt, allowed: true, retryAfterMs: 0 };
  return { tokens, updatedAt, allowed: false, retryAfterMs: ((1 - tokens) * 1_000) / ratePerSecond };
}

/** Whole tokens left: what a client may still send at once. */
export function remainingTokens(bucket: Bucket): number {
  return Math.floor(bucket.tokens + SLACK);
}

/** When the bucket will be full again; from then on it is the same as a bucket never used. */
export function fullAt(bucket: Bucket, ratePerSecond: number, burst: number): number {
  return bucket.updatedAt + ((burst - bucket.tokens) * 1_000) / ratePerSecond;
}
