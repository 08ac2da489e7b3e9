import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryBudget } from './retry-budget.ts';

/** Takes retries at `now` while the budget allows, up to `limit`; how many it got. */
function drain(budget: RetryBudget, now: number, limit = 1_000): number {
  let taken = 0;
  while (taken < limit && budget.canRetry(now)) {
    budget.recordRetry(now);
    taken++;
  }
  return taken;
}

// The clock is the `now` parameter (performance.now() ms in weir): no real waiting.
const T0 = 50_000;

describe('the retry budget', () => {
  it('allows budget percent of the requests as retries: 20% of 10 requests is exactly 2', () => {
    const budget = new RetryBudget(20, 0);
    assert.equal(budget.canRetry(T0), false, 'no requests, no minimum: no retry');
    for (let i = 0; i < 10; i++) budget.recordRequest(T0);
    assert.equal(drain(budget, T0), 2);
    assert.equal(budget.canRetry(T0 + 500), false, 'spent');
    for (let i = 0; i < 5; i++) budget.recordRequest(T0 + 500);
    assert.equal(drain(budget, T0 + 500), 1, '15 requests: 3 in all, 2 already taken');
  });

  it('allows min_per_second retries per second over its 10 s window whatever the traffic', () => {
    const budget = new RetryBudget(0, 3);
    assert.equal(drain(budget, T0), 30, '3 per second over 10 s');
    assert.equal(drain(budget, T0 + 9_999), 0, 'all 30 are still in the window');
  });

  it('counts a request for 10 s', () => {
    const budget = new RetryBudget(20, 0);
    for (let i = 0; i < 10; i++) budget.recordRequest(T0);
    assert.equal(budget.canRetry(T0 + 9_999), true);
    assert.equal(budget.canRetry(T0 + 10_000), false, 'its requests left the window: nothing to retry against');
  });

  it('counts a retry for 10 s', () => {
    const budget = new RetryBudget(0, 1);
    assert.equal(drain(budget, T0), 10);
    assert.equal(drain(budget, T0 + 9_999), 0);
    assert.equal(drain(budget, T0 + 10_000), 10, 'the retries left the window');
  });

  it('lets the window roll one second at a time', () => {
    const budget = new RetryBudget(20, 0);
    for (let i = 0; i < 10; i++) budget.recordRequest(T0);
    for (let i = 0; i < 10; i++) budget.recordRequest(T0 + 5_000);
    assert.equal(drain(budget, T0 + 10_000), 2, 'the requests of T0 are gone, those of T0 + 5 s remain');
    assert.equal(drain(budget, T0 + 14_999), 0);
    for (let i = 0; i < 10; i++) budget.recordRequest(T0 + 15_000);
    assert.equal(drain(budget, T0 + 15_000), 0, '10 requests, and the 2 retries of T0 + 10 s still count');
    assert.equal(drain(budget, T0 + 20_000), 2, 'those retries are gone');
  });

  it('starts afresh after a long quiet spell', () => {
    const budget = new RetryBudget(0, 1);
    assert.equal(drain(budget, T0), 10);
    assert.equal(drain(budget, T0 + 3_600_000), 10, 'an hour later the window is empty again');
  });
});
