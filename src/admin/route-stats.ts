// Per-route traffic over the last few seconds, for the dashboard: requests
// per second, error rate and latency percentiles. An observer of the log
// phase keeps the most recent samples in a fixed ring, so its memory does
// not grow with traffic; at more requests per second than the ring holds
// per window, the figures cover the (shorter) span the ring still holds.

import type { RequestObserver, RequestRecord } from '../runtime/exchange.ts';

/** One route's traffic over the window. `route` is undefined for requests no route matched. */
export interface RouteTraffic {
  route: string | undefined;
  /** Requests finished in the window. */
  requests: number;
  requestsPerSecond: number;
  /** Share (0..1) of those answered with a 5xx status. */
  errorRate: number;
  /** Nearest-rank percentiles of the whole request's duration, ms; undefined without requests. */
  p50Ms: number | undefined;
  p95Ms: number | undefined;
  p99Ms: number | undefined;
  /** The seconds the figures cover: the window, or less when the ring filled up within it. */
  windowSeconds: number;
}

export interface RouteStatsOptions {
  /** Samples kept (default 10,000). */
  capacity?: number;
  /** How far back the figures look, ms (default 10 s). */
  windowMs?: number;
  /** The clock, performance.now() by default (for tests). */
  now?: () => number;
}

export class RouteStats implements RequestObserver {
  readonly #capacity: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  // One sample per slot; #next is where the next one goes, #size how many slots are filled.
  readonly #times: Float64Array;
  readonly #durations: Float64Array;
  readonly #statuses: Uint16Array;
  readonly #routes: Array<string | undefined>;
  #next = 0;
  #size = 0;

  constructor(options: RouteStatsOptions = {}) {
    this.#capacity = Math.max(1, Math.floor(options.capacity ?? 10_000));
    this.#windowMs = options.windowMs ?? 10_000;
    this.#now = options.now ?? (() => performance.now());
    this.#times = new Float64Array(this.#capacity);
    this.#durations = new Float64Array(this.#capacity);
    this.#statuses = new Uint16Array(this.#capacity);
    this.#routes = new Array<string | undefined>(this.#capacity).fill(undefined);
  }

  requestFinished(record: RequestRecord, status: number, _bytesSent: number, durationMs: number): void {
    this.record(record.route, status, durationMs);
  }

  /** Counts one finished request (status 0: the client went away before an answer). */
  record(route: string | undefined, status: number, durationMs: number): void {
    const slot = this.#next;
    this.#times[slot] = this.#now();
    this.#durations[slot] = durationMs;
    this.#statuses[slot] = status;
    this.#routes[slot] = route;
    this.#next = (slot + 1) % this.#capacity;
    if (this.#size < this.#capacity) this.#size++;
  }

  /** Each route with requests in the window, busiest first. */
  snapshot(): RouteTraffic[] {
    const now = this.#now();
    const since = now - this.#windowMs;
    const byRoute = new Map<string | undefined, { durations: number[]; errors: number }>();
    let oldest = now;
    for (let i = 0; i < this.#size; i++) {
      const slot = (this.#next - 1 - i + this.#capacity) % this.#capacity;
      const at = this.#times[slot]!;
      // Newest first: the first sample out of the window ends the scan.
      if (at < since) break;
      oldest = at;
      const route = this.#routes[slot];
      let entry = byRoute.get(route);
      if (!entry) byRoute.set(route, (entry = { durations: [], errors: 0 }));
      entry.durations.push(this.#durations[slot]!);
      if (this.#statuses[slot]! >= 500) entry.errors++;
    }
    // A full ring whose oldest sample is inside the window covers only back to that sample.
    const full = this.#size === this.#capacity && this.#times[this.#next % this.#capacity]! >= since;
    const windowSeconds = Math.max(0.001, (full ? now - oldest : this.#windowMs) / 1000);
    const traffic: RouteTraffic[] = [];
    for (const [route, { durations, errors }] of byRoute) {
      durations.sort((a, b) => a - b);
      traffic.push({
        route,
        requests: durations.length,
        requestsPerSecond: durations.length / windowSeconds,
        errorRate: errors / durations.length,
        p50Ms: percentile(durations, 50),
        p95Ms: percentile(durations, 95),
        p99Ms: percentile(durations, 99),
        windowSeconds,
      });
    }
    return traffic.sort((a, b) => b.requests - a.requests);
  }
}

/** Nearest rank: the smallest value with at least p% of the values at or below it. */
function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
