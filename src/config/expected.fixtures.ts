// What the loader is expected to produce for the parts a test does not set:
// written out once, in full, for the config tests to compare against.
import type { RouteConfig, ServerConfig, ServiceConfig } from './types.ts';

/** A route with no rules at all. */
export const noRules = {
  stripPrefix: '',
  requestHeaders: { add: [], remove: [] },
  query: { add: [], remove: [] },
  rewrite: { replace: [] },
  firewall: { ipReject: [], pathReject: [] },
  timeouts: {},
  retryNonIdempotent: false,
} satisfies Partial<RouteConfig>;

/** What a service gets when it says nothing of balancing, passive health, retries or limits. */
export const serviceDefaults = {
  hashKey: { kind: 'client_ip' },
  passiveHealth: { consecutiveFailures: 5, baseEjectionMs: 10_000, maxEjectionMs: 300_000, maxEjectedPercent: 50 },
  panicThresholdPercent: 0,
  slowStartMs: 0,
  retries: { attempts: 2, onStatuses: [], budgetPercent: 20, minRetriesPerSecond: 10 },
  queue: { size: 100, timeoutMs: 5000 },
} satisfies Partial<ServiceConfig>;

export const defaultTimeouts = { connectMs: 5000, responseHeadersMs: 60_000, idleMs: 60_000 };

export const server = (host: string, port: number, weight = 1, backup = false): ServerConfig => ({ address: { host, port }, weight, backup });
