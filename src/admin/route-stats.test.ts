import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RouteStats } from './route-stats.ts';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

test('per route: requests per second over the window, 5xx share, nearest-rank percentiles', () => {
  const time = clock();
  const stats = new RouteStats({ now: time.now, windowMs: 10_000 });
  for (let i = 1; i <= 100; i++) {
    stats.record('api', i % 10 === 0 ? 502 : 200, i);
    time.advance(10);
  }
  stats.record('web', 404, 5);
  const [api, web] = stats.snapshot();
  assert.equal(api!.route, 'api');
  assert.equal(api!.requests, 100);
  assert.equal(api!.requestsPerSecond, 10);
  assert.equal(api!.errorRate, 0.1);
  assert.equal(api!.p50Ms, 50);
  assert.equal(api!.p95Ms, 95);
  assert.equal(api!.p99Ms, 99);
  assert.equal(api!.windowSeconds, 10);
  assert.deepEqual({ ...web, requestsPerSecond: undefined }, {
    route: 'web', requests: 1, requestsPerSecond: undefined, errorRate: 0, p50Ms: 5, p95Ms: 5, p99Ms: 5, windowSeconds: 10,
  });
});

test('samples older than the window are left out', () => {
  const time = clock();
  const stats = new RouteStats({ now: time.now, windowMs: 10_000 });
  stats.record('old', 200, 1);
  time.advance(10_001);
  stats.record('new', 200, 1);
  assert.deepEqual(stats.snapshot().map((traffic) => traffic.route), ['new']);
  time.advance(10_001);
  assert.deepEqual(stats.snapshot(), []);
});

test('memory is bounded: a full ring covers a shorter span, and says so', () => {
  const time = clock();
  const stats = new RouteStats({ now: time.now, windowMs: 10_000, capacity: 100 });
  for (let i = 0; i < 1000; i++) {
    stats.record(undefined, 200, 1);
    time.advance(5);
  }
  const [traffic] = stats.snapshot();
  assert.equal(traffic!.route, undefined);
  assert.equal(traffic!.requests, 100);
  // The oldest kept sample is 100 samples of 5 ms back: 200 per second, as sent.
  assert.ok(Math.abs(traffic!.requestsPerSecond - 200) < 3, String(traffic!.requestsPerSecond));
  assert.ok(traffic!.windowSeconds < 1);
});
