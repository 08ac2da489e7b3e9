import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_RETRY_BACKOFF,
  LONGEST_RETRY_AFTER_MS,
  LONGEST_TIMER_MS,
  nextRenewalAttempt,
  renewalTime,
  retryDelay,
  stillValid,
  timerDelay,
} from './renewal-schedule.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2030, 0, 1);
/** A Let's Encrypt-like certificate: 90 days from T0. */
const NINETY_DAYS = { notBefore: new Date(T0), notAfter: new Date(T0 + 90 * DAY) };

describe('the ACME renewal schedule', () => {
  it('renews at notBefore + share × lifetime: day 60 of 90 for the default 2/3', () => {
    assert.equal(renewalTime(NINETY_DAYS, 2 / 3), T0 + 60 * DAY);
    assert.equal(renewalTime(NINETY_DAYS, 0.5), T0 + 45 * DAY);
    assert.equal(renewalTime(NINETY_DAYS, 0.9), T0 + 81 * DAY);
  });

  it('takes a share outside (0, 1) as the default 2/3: never renews at issuance nor waits for expiry', () => {
    for (const share of [0, -1, 1, 1.5, Number.NaN, undefined as unknown as number]) {
      assert.equal(renewalTime(NINETY_DAYS, share), T0 + 60 * DAY, `share ${share}`);
    }
  });

  it('serves a certificate until its notAfter, not a millisecond after', () => {
    assert.equal(stillValid(NINETY_DAYS, T0 + 90 * DAY - 1), true);
    assert.equal(stillValid(NINETY_DAYS, T0 + 90 * DAY), false);
  });

  it('schedules a fresh certificate at its renewal time, but never sooner than one backoff step', () => {
    const backoff = { firstMs: 120_000, maxMs: 3_600_000 };
    assert.equal(nextRenewalAttempt(NINETY_DAYS, 2 / 3, T0 + 1000, backoff), T0 + 60 * DAY);
    // Already due when it arrives (a clock far ahead of the CA's): no loop of orders.
    const now = T0 + 80 * DAY;
    assert.equal(nextRenewalAttempt(NINETY_DAYS, 2 / 3, now, backoff), now + 120_000);
  });

  it('backs off exponentially after failures, capped', () => {
    const backoff = { firstMs: 1_000, maxMs: 10_000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 100, 5000].map((n) => retryDelay(n, backoff)), [1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000, 10_000]);
  });

  it('defaults to 2 minutes doubling to 1 hour', () => {
    assert.deepEqual(DEFAULT_RETRY_BACKOFF, { firstMs: 120_000, maxMs: 3_600_000 });
    assert.equal(retryDelay(1, DEFAULT_RETRY_BACKOFF), 120_000);
    assert.equal(retryDelay(6, DEFAULT_RETRY_BACKOFF), 3_600_000, '2 × 2^5 = 64 min, capped at 60');
  });

  it("waits for the CA's Retry-After when it is longer than the backoff, up to a day", () => {
    const backoff = { firstMs: 1_000, maxMs: 10_000 };
    assert.equal(retryDelay(1, backoff, 500), 1_000, 'shorter: the backoff wins');
    assert.equal(retryDelay(1, backoff, 3 * 3_600_000), 3 * 3_600_000);
    assert.equal(retryDelay(1, backoff, 365 * DAY), LONGEST_RETRY_AFTER_MS);
  });

  it('never asks setTimeout for a negative delay or one it cannot wait (60 days is beyond 24.8)', () => {
    assert.equal(timerDelay(T0 - 5, T0), 0);
    assert.equal(timerDelay(T0 + 5, T0), 5);
    assert.equal(timerDelay(T0 + 60 * DAY, T0), LONGEST_TIMER_MS);
  });
});
