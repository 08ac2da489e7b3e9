// What the loader is expected to produce for the parts a test does not set:
// written out once, in full, for the config tests to compare against.
import type { HealthCheckConfig, RouteConfig, RuleSet, ServerConfig, ServiceConfig, WeirConfig } from './types.ts';

/** A route with no rules at all. */
export const noRules = {
  stripPrefix: '',
  requestHeaders: { add: [], set: [], remove: [] },
  responseHeaders: { add: [], set: [], remove: [] },
  query: { add: [], set: [], remove: [] },
  rewrite: { replace: [], addPrefix: '' },
  firewall: { ipAllow: [], ipReject: [], pathReject: [] },
  rateLimits: [],
  httpsRedirect: false,
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
  protocol: 'http1',
} satisfies Partial<ServiceConfig>;

/** health_check: {} (and the course's checks): every default. */
export const defaultHealthCheck = {
  type: 'http',
  method: 'GET',
  path: '/healthcheck',
  intervalMs: 5000,
  timeoutMs: 2000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  expectedStatuses: [[200, 399]],
} satisfies HealthCheckConfig;

export const defaultTimeouts = { connectMs: 5000, responseHeadersMs: 60_000, idleMs: 60_000 };

export const server = (host: string, port: number, weight = 1, backup = false): ServerConfig => ({ address: { host, port }, tls: false, weight, backup });

/** A rule set with nothing in it: what `defaults` is when the file has none. */
export const emptyRules: RuleSet = {
  requestHeaders: { add: [], set: [], remove: [] },
  responseHeaders: { add: [], set: [], remove: [] },
  query: { add: [], set: [], remove: [] },
  firewall: { ipAllow: [], ipReject: [], pathReject: [] },
  rateLimits: [],
};

/** What `limits` is when the file says nothing of it (or `limits: {}`). */
export const defaultLimits = { clientConnections: 10_000, pipelinedRequests: 16, upstreamRequests: 4096, http2Streams: 100, http2HeaderListBytes: 32 * 1024 } satisfies WeirConfig['limits'];

/** What `client_timeouts` is when the file says nothing of it. */
export const defaultClientTimeouts = { headerMs: 30_000, bodyIdleMs: 60_000, keepAliveMs: 5000 } satisfies WeirConfig['clientTimeouts'];

/** The top-level keys a file gets when it says nothing of them. */
export const topLevelDefaults = {
  defaults: emptyRules,
  trustedProxies: [],
  proxyProtocol: false,
  requestIdHeader: 'X-Request-Id',
  limits: defaultLimits,
  clientTimeouts: defaultClientTimeouts,
  log: { level: 'info' },
} satisfies Partial<WeirConfig>;
