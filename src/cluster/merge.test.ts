import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backendLoad, mergeRefusals, mergeRouteTraffic } from './merge.ts';

describe('a worker group\'s figures for the admin API', () => {
  it('adds up route traffic; the error rate is weighted by requests and each percentile is the highest', () => {
    const merged = mergeRouteTraffic([
      [{ route: 'api', requests: 30, requestsPerSecond: 3, errorRate: 0.1, p50Ms: 2, p95Ms: 9, p99Ms: 12, windowSeconds: 10 }],
      [
        { route: 'api', requests: 10, requestsPerSecond: 1, errorRate: 0.5, p50Ms: 4, p95Ms: 5, p99Ms: undefined, windowSeconds: 8 },
        { route: undefined, requests: 50, requestsPerSecond: 5, errorRate: 0, p50Ms: 1, p95Ms: 1, p99Ms: 1, windowSeconds: 10 },
      ],
    ]);
    assert.deepEqual(merged, [
      { route: undefined, requests: 50, requestsPerSecond: 5, errorRate: 0, p50Ms: 1, p95Ms: 1, p99Ms: 1, windowSeconds: 10 },
      { route: 'api', requests: 40, requestsPerSecond: 4, errorRate: 0.2, p50Ms: 4, p95Ms: 9, p99Ms: 12, windowSeconds: 10 },
    ]);
  });

  it('keeps the most recent refusals of every worker, oldest first', () => {
    const refusal = (at: number) => ({ at, status: 429, reason: 'rate_limit routes[0].rate_limit', client: '10.0.0.1', url: `/${at}` });
    assert.deepEqual(mergeRefusals([[refusal(1), refusal(4)], [refusal(2), refusal(3)]], 3).map((entry) => entry.at), [2, 3, 4]);
  });

  it('adds up a backend\'s requests in flight and averages the latency of the workers that measured one', () => {
    const load = [
      [{ service: 'app', backend: '127.0.0.1:1', inflight: 2, latencyMs: 4 }, { service: 'app', backend: '127.0.0.1:2', inflight: 9, latencyMs: 1 }],
      [{ service: 'app', backend: '127.0.0.1:1', inflight: 3, latencyMs: 0 }],
      [{ service: 'app', backend: '127.0.0.1:1', inflight: 0, latencyMs: 8 }],
    ];
    assert.deepEqual(backendLoad(load, 'app', '127.0.0.1:1'), { inflight: 5, latencyMs: 6 });
    assert.deepEqual(backendLoad(load, 'other', '127.0.0.1:1'), { inflight: 0, latencyMs: 0 });
  });
});
