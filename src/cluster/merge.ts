// The admin API's figures of a worker group, from what each worker reports:
// pure functions of plain data.

import type { RecentRefusal } from '../admin/context.ts';
import type { RouteTraffic } from '../admin/route-stats.ts';
import type { BackendLoad } from './messages.ts';

/**
 * Several workers' traffic per route as one: requests and rates add up, the
 * error rate is weighted by requests, and each latency percentile is the
 * highest of the workers' (the workers' samples are not sent, so an exact
 * percentile of the whole cannot be had; the highest is never too good).
 */
export function mergeRouteTraffic(perWorker: ReadonlyArray<readonly RouteTraffic[]>): RouteTraffic[] {
  const byRoute = new Map<string | undefined, RouteTraffic & { errors: number }>();
  for (const traffic of perWorker) {
    for (const entry of traffic) {
      const known = byRoute.get(entry.route);
      if (!known) {
        byRoute.set(entry.route, { ...entry, errors: entry.errorRate * entry.requests });
        continue;
      }
      known.requests += entry.requests;
      known.requestsPerSecond += entry.requestsPerSecond;
      known.errors += entry.errorRate * entry.requests;
      known.errorRate = known.requests === 0 ? 0 : known.errors / known.requests;
      known.p50Ms = highest(known.p50Ms, entry.p50Ms);
      known.p95Ms = highest(known.p95Ms, entry.p95Ms);
      known.p99Ms = highest(known.p99Ms, entry.p99Ms);
      known.windowSeconds = Math.max(known.windowSeconds, entry.windowSeconds);
    }
  }
  return [...byRoute.values()].map(({ errors: _errors, ...entry }) => entry).sort((a, b) => b.requests - a.requests);
}

/** The workers' recent refusals as one list, oldest first, at most `limit`. */
export function mergeRefusals(perWorker: ReadonlyArray<readonly RecentRefusal[]>, limit = 100): RecentRefusal[] {
  return perWorker
    .flat()
    .sort((a, b) => a.at - b.at)
    .slice(-limit);
}

/** One backend's load over the workers: requests in flight added up, latency the mean of the workers that have one. */
export function backendLoad(perWorker: ReadonlyArray<readonly BackendLoad[]>, service: string, backend: string): { inflight: number; latencyMs: number } {
  let inflight = 0;
  let latency = 0;
  let measured = 0;
  for (const load of perWorker) {
    for (const entry of load) {
      if (entry.service !== service || entry.backend !== backend) continue;
      inflight += entry.inflight;
      if (entry.latencyMs > 0) {
        latency += entry.latencyMs;
        measured++;
      }
    }
  }
  return { inflight, latencyMs: measured === 0 ? 0 : latency / measured };
}

function highest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}
