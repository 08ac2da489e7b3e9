// When an ACME certificate is renewed, and when a failed attempt is tried
// again. Pure arithmetic on milliseconds since the epoch, so the schedule is
// tested without waiting and the manager only turns these answers into timers.

/** Exponential backoff after failed attempts: firstMs, doubling, never above maxMs. */
export interface RetryBackoff {
  firstMs: number;
  maxMs: number;
}

/**
 * 2 minutes doubling to 1 hour. Let's Encrypt allows 5 failed validations
 * per name per hour: 2, 4, 8, 16 and 32 minutes apart keeps a broken setup
 * (port 80 not reaching weir, DNS elsewhere) under that, and once an hour
 * afterwards is often enough to heal within the month a 90-day certificate
 * still has when renewal starts at two thirds.
 */
export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { firstMs: 2 * 60_000, maxMs: 60 * 60_000 };

/** The longest delay setTimeout honours; a longer one fires at once (Node warns and uses 1 ms). */
export const LONGEST_TIMER_MS = 2 ** 31 - 1;

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** The config's default for acme.renewAfterShare: day 60 of a 90-day certificate. */
export const DEFAULT_RENEW_AFTER_SHARE = 2 / 3;

/**
 * When renewal starts: notBefore + share × lifetime. A share outside (0, 1)
 * (the config refuses those; a library caller might not) is taken as the
 * default rather than renewing at issuance or at expiry.
 */
export function renewalTime(validity: Validity, share: number): number {
  const usable = share > 0 && share < 1 ? share : DEFAULT_RENEW_AFTER_SHARE;
  const from = validity.notBefore.getTime();
  return from + usable * (validity.notAfter.getTime() - from);
}

/** Whether a certificate can still be served at `now`. */
export function stillValid(validity: Validity, now: number): boolean {
  return now < validity.notAfter.getTime();
}

/**
 * When to try a certificate just obtained again: its renewal time, but never
 * sooner than one backoff step away, so a certificate that is "due" the
 * moment it arrives (a clock far ahead of the CA's, a tiny share) cannot
 * make weir order certificates in a tight loop.
 */
export function nextRenewalAttempt(validity: Validity, share: number, now: number, backoff: RetryBackoff): number {
  return Math.max(renewalTime(validity, share), now + backoff.firstMs);
}

/**
 * The wait before attempt n+1 after n consecutive failures (n ≥ 1). A
 * Retry-After the CA sent wins when it is longer: asking sooner only earns
 * another refusal. It is believed for a day at most, so a wrong header
 * cannot park renewal until after the certificate expires.
 */
export function retryDelay(consecutiveFailures: number, backoff: RetryBackoff, retryAfterMs = 0): number {
  const steps = Math.max(0, consecutiveFailures - 1);
  // 2 ** steps overflows to Infinity long after the cap applies; Math.min handles that too.
  const delay = Math.min(backoff.maxMs, backoff.firstMs * 2 ** steps);
  return Math.max(delay, Math.min(retryAfterMs, LONGEST_RETRY_AFTER_MS));
}

/** The longest Retry-After from a CA that is obeyed. */
export const LONGEST_RETRY_AFTER_MS = 24 * 60 * 60_000;

/** The timer to set now for something due at `at`: never negative, never beyond what setTimeout can wait (wake up and look again). */
export function timerDelay(at: number, now: number): number {
  return Math.min(LONGEST_TIMER_MS, Math.max(0, at - now));
}
