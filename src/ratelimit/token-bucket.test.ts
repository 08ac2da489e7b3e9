import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fullAt, remainingTokens, takeToken, type Bucket } from './token-bucket.ts';

/** Takes `count` tokens at `now`, threading the bucket; returns the last take. */
function takeMany(bucket: Bucket | undefined, count: number, now: number, rate: number, burst: number) {
  let last = takeToken(bucket, now, rate, burst);
  for (let i = 1; i < count; i++) last = takeToken(last, now, rate, burst);
  return last;
}

describe('a token bucket', () => {
  it('starts full: a new client may send `burst` requests at once, then is refused', () => {
    const drained = takeMany(undefined, 5, 1_000, 10, 5);
    assert.equal(drained.allowed, true);
    assert.equal(remainingTokens(drained), 0);
    const refused = takeToken(drained, 1_000, 10, 5);
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterMs, 100, 'one token at 10/s comes back after 100 ms');
  });

  it('counts what is left after each request', () => {
    let bucket = takeToken(undefined, 0, 1, 3);
    assert.equal(remainingTokens(bucket), 2);
    bucket = takeToken(bucket, 0, 1, 3);
    assert.equal(remainingTokens(bucket), 1);
  });

  it('refills continuously, so half the wait gives half a token and still a refusal', () => {
    const drained = takeMany(undefined, 2, 0, 2, 2);
    const early = takeToken(drained, 250, 2, 2);
    assert.equal(early.allowed, false);
    assert.equal(early.tokens, 0.5);
    assert.equal(early.retryAfterMs, 250);
    const onTime = takeToken(early, 500, 2, 2);
    assert.equal(onTime.allowed, true);
    assert.equal(onTime.tokens, 0);
  });

  it('allows a client that waits exactly the advertised time, despite rounding', () => {
    const rate = 3;
    const drained = takeMany(undefined, 1, 0, rate, 1);
    const refused = takeToken(drained, 10, rate, 1);
    const retried = takeToken(refused, 10 + refused.retryAfterMs, rate, 1);
    assert.equal(retried.allowed, true);
  });

  it('never holds more than `burst` tokens, however long the quiet spell', () => {
    const used = takeToken(undefined, 0, 100, 4);
    const later = takeToken(used, 3_600_000, 100, 4);
    assert.equal(later.allowed, true);
    assert.equal(remainingTokens(later), 3);
  });

  it('counts no refill for a clock that steps back', () => {
    const used = takeMany(undefined, 2, 5_000, 1, 3);
    const stepped = takeToken(used, 4_000, 1, 3);
    assert.equal(stepped.allowed, true);
    assert.equal(stepped.tokens, 0);
    assert.equal(stepped.updatedAt, 5_000, 'the later time is kept, so the step back is not counted as refill later');
  });

  it('is full again after (burst - tokens) / rate, when it equals a bucket never used', () => {
    const drained = takeMany(undefined, 4, 10_000, 2, 4);
    assert.equal(fullAt(drained, 2, 4), 12_000);
    const refilled = takeToken(drained, 12_000, 2, 4);
    const fresh = takeToken(undefined, 12_000, 2, 4);
    assert.deepEqual(refilled, fresh);
  });

  it('handles slow rates: one request per hour', () => {
    const drained = takeToken(undefined, 0, 1 / 3600, 1);
    const refused = takeToken(drained, 60_000, 1 / 3600, 1);
    assert.equal(refused.allowed, false);
    assert.ok(Math.abs(refused.retryAfterMs - 3_540_000) < 1e-6, `${refused.retryAfterMs}`);
  });
});
