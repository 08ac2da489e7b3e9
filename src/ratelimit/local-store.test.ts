import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalBucketStore } from './local-store.ts';

describe('the local bucket store', () => {
  it('limits each key on its own', () => {
    const store = new LocalBucketStore(1, 2);
    assert.equal(store.take('a', 0).allowed, true);
    assert.equal(store.take('a', 0).allowed, true);
    const refused = store.take('a', 0);
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterMs, 1_000);
    assert.equal(store.take('b', 0).allowed, true, 'another key has its own bucket');
    assert.equal(store.take('a', 1_000).allowed, true, 'a token came back after a second');
  });

  it('drops buckets that have refilled to full on sweep, and keeps the others', () => {
    const store = new LocalBucketStore(10, 5);
    store.take('quiet', 0);
    for (let i = 0; i < 5; i++) store.take('busy', 900);
    assert.equal(store.sweep(1_000), 1, '"quiet" is full again 100 ms after its one request');
    assert.equal(store.size, 1);
    assert.equal(store.take('busy', 1_000).allowed, true, 'the 100 ms refilled one token');
    assert.equal(store.take('busy', 1_000).allowed, false, '"busy" kept its state through the sweep');
  });

  it('sweeps by itself as new keys arrive, so a stream of one-off clients does not pile up', () => {
    const store = new LocalBucketStore(1, 1);
    // 5,000 clients, one request each, one every 10 ms: each bucket is full
    // again a second later, so only about the last second's keys are kept.
    for (let i = 0; i < 5_000; i++) store.take(`10.0.${i >> 8}.${i & 255}`, i * 10);
    assert.ok(store.size <= 2_100, `held ${store.size} buckets`);
    store.sweep(5_000 * 10 + 1_000);
    assert.equal(store.size, 0);
  });

  it('never holds more than maxBuckets, forgetting the least recently used first', () => {
    const store = new LocalBucketStore(1, 1, { maxBuckets: 3 });
    store.take('a', 0);
    store.take('b', 0);
    store.take('c', 0);
    assert.equal(store.take('a', 0).allowed, false, '"a" is used again, so it is now the most recent');
    store.take('d', 0);
    assert.equal(store.size, 3);
    assert.equal(store.take('a', 0).allowed, false, '"a" was kept');
    assert.equal(store.take('b', 0).allowed, true, '"b", the least recently used, was forgotten and starts fresh');
  });

  it('stays bounded under a flood of distinct keys that are all busy', () => {
    const store = new LocalBucketStore(1, 10, { maxBuckets: 1_000 });
    for (let i = 0; i < 20_000; i++) store.take(`key ${i}`, 0);
    assert.equal(store.size, 1_000);
  });

  it('counts the tokens it gives out when asked to, and takes other processes\' tokens as a debt that refilling pays back', () => {
    const store = new LocalBucketStore(10, 5, { countTakes: true });
    for (let i = 0; i < 7; i++) store.take('a', 0);
    store.take('b', 0);
    assert.deepEqual([...store.takeCounts()], [['a', 5], ['b', 1]], 'only what was allowed is counted');
    assert.deepEqual([...store.takeCounts()], [], 'each count is handed out once');
    // Another worker took 3 of "a" meanwhile: 0 - 3 tokens, 400 ms of refill before the next passes.
    store.debit('a', 3, 0);
    assert.equal(store.take('a', 300).allowed, false);
    assert.equal(store.take('a', 400).allowed, true);
    // A key this process never saw starts full, less the debit.
    store.debit('c', 5, 0);
    assert.equal(store.take('c', 0).allowed, false);
    assert.equal(store.take('c', 100).allowed, true);
  });
});
