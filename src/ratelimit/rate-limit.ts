import type { RateLimitConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { compileKey, type KeyFacts } from './key.ts';
import type { RedisRateLimitConfig, RateLimitStores } from './stores.ts';
import type { Decision } from './token-bucket.ts';

export type { KeyFacts } from './key.ts';
export { RateLimitStores } from './stores.ts';

export type RateVerdict =
  | { kind: 'pass' }
  /** Answer 429 with `headers` (flat [name, value, ...]: Retry-After, RateLimit-Policy, RateLimit). */
  | { kind: 'limited'; limitId: string; retryAfterSeconds: number; headers: string[] }
  /** The limit's store could not decide and its on_store_error is deny: answer 503. */
  | { kind: 'store-unavailable'; limitId: string };

export interface CompiledRateLimit {
  readonly config: RateLimitConfig;
  /** `now`: milliseconds on the performance.now() clock, for tests; Redis uses its own clock. */
  check(facts: KeyFacts, now?: number): RateVerdict | Promise<RateVerdict>;
}

// Shared and frozen: a request that passes allocates no verdict.
const PASS: RateVerdict = Object.freeze({ kind: 'pass' });

/**
 * A rate limit ready for the hot path: its key builder, its store and its
 * header values are made once. A local limit decides synchronously; a Redis
 * limit answers with a promise, except while Redis is known to be down, when
 * it decides at once from its local fallback (or refuses, on_store_error deny).
 */
export function compileRateLimit(config: RateLimitConfig, stores: RateLimitStores, log: Logger): CompiledRateLimit {
  const keyOf = compileKey(config.key);
  const headers = rateLimitHeaders(config);
  const verdictOf = (decision: Decision): RateVerdict => (decision.allowed ? PASS : headers.limited(decision.retryAfterMs));

  if (config.store.kind === 'local') {
    const store = stores.local(config);
    return {
      config,
      check: (facts, now = performance.now()) => verdictOf(store.take(keyOf(facts), now)),
    };
  }

  const store = stores.redis(config as RedisRateLimitConfig, log);
  const unavailable: RateVerdict = Object.freeze({ kind: 'store-unavailable', limitId: config.id });
  const withoutStore =
    config.onStoreError === 'deny'
      ? (): RateVerdict => unavailable
      : (key: string, now: number | undefined): RateVerdict => verdictOf(store.fallback.take(key, now ?? performance.now()));
  return {
    config,
    check(facts, now) {
      const key = keyOf(facts);
      const answer = store.take(key);
      if (answer === undefined) return withoutStore(key, now);
      return answer.then((decision) => (decision === undefined ? withoutStore(key, now) : verdictOf(decision)));
    },
  };
}

/**
 * Checks limits in order; the first that refuses decides (the limits before
 * it have taken their token). Sync when every limit is local, so the common
 * path allocates no promise.
 */
export function checkRateLimits(limits: readonly CompiledRateLimit[], facts: KeyFacts): RateVerdict | Promise<RateVerdict> {
  for (let i = 0; i < limits.length; i++) {
    const verdict = limits[i]!.check(facts);
    if (verdict instanceof Promise) return finishChecks(verdict, limits, i + 1, facts);
    if (verdict.kind !== 'pass') return verdict;
  }
  return PASS;
}

async function finishChecks(
  pending: Promise<RateVerdict>,
  limits: readonly CompiledRateLimit[],
  next: number,
  facts: KeyFacts,
): Promise<RateVerdict> {
  const first = await pending;
  if (first.kind !== 'pass') return first;
  for (let i = next; i < limits.length; i++) {
    const verdict = await limits[i]!.check(facts);
    if (verdict.kind !== 'pass') return verdict;
  }
  return PASS;
}

/**
 * The 429 headers of draft-ietf-httpapi-ratelimit-headers-11 (structured
 * fields), plus Retry-After:
 *
 *   RateLimit-Policy: "<name>";q=<requests per window>;w=<window seconds>;weir-burst=<burst>
 *   RateLimit: "<name>";r=0;t=<seconds until a token>
 *   Retry-After: <the same seconds>
 *
 * q and w are the rate as written ("6000/m" is q=6000;w=60): a client that
 * paces itself by them stays under the limit. The bucket size has no
 * parameter in the draft, which allows vendor-prefixed ones for that. t and
 * Retry-After are equal, as the draft asks that Retry-After not point before
 * the end of the effective window; both round up and are at least 1, so a
 * client that waits that long finds a token.
 */
export function rateLimitHeaders(config: RateLimitConfig): { policy: string; limited(retryAfterMs: number): RateVerdict } {
  const name = policyName(config.id);
  const quota = Math.round(config.ratePerSecond * config.windowSeconds);
  const policy = `"${name}";q=${quota};w=${config.windowSeconds};weir-burst=${config.burst}`;
  return {
    policy,
    limited(retryAfterMs) {
      const seconds = Math.max(1, Math.ceil(retryAfterMs / 1_000));
      const text = String(seconds);
      return {
        kind: 'limited',
        limitId: config.id,
        retryAfterSeconds: seconds,
        headers: ['Retry-After', text, 'RateLimit-Policy', policy, 'RateLimit', `"${name}";r=0;t=${text}`],
      };
    },
  };
}

/**
 * The limit's id ("routes[2].rate_limit") as a structured-field string:
 * printable ASCII without quote or backslash, so it never needs escaping.
 */
export function policyName(limitId: string): string {
  return limitId.replace(/[^\x20-\x7e]|["\\]/g, '_');
}
