// The JSON the admin API answers with, built from the live objects. Keys are
// snake_case like the config's; times are ISO 8601; durations are ms.

import { formatDuration } from '../config/duration.ts';
import { summarizeFirewall } from '../config/summary.ts';
import type { HeaderRules, HealthCheckConfig, QueryRules, RouteConfig } from '../config/types.ts';
import type { Runtime } from '../runtime/compile.ts';
import type { Backend } from '../upstream/backend.ts';
import type { Service } from '../upstream/service.ts';
import type { AdminContext, GroupView, RecentRefusal } from './context.ts';
import type { RouteTraffic } from './route-stats.ts';

export interface StatusView {
  version: string;
  uptime_seconds: number;
  config_source: string;
  generation: number;
  last_reload: { at: string; result: 'success' | 'failure'; message: string | null } | null;
  /** Only in a worker group (`weir start --workers`): the workers running, and how many replaced one that exited. */
  workers?: { running: Array<{ slot: number; pid: number; started: string }>; restarts: number };
}

export function statusView(context: AdminContext, now = Date.now()): StatusView {
  const last = context.lastReload();
  const group = context.group;
  return {
    version: context.version,
    uptime_seconds: Math.max(0, Math.floor((now - context.startedAt) / 1000)),
    config_source: context.configSource(),
    generation: context.generation(),
    last_reload: last ? { at: iso(last.at), result: last.result, message: last.message ?? null } : null,
    ...(group && { workers: { running: group.workers().map((worker) => ({ slot: worker.slot, pid: worker.pid, started: iso(worker.startedAt) })), restarts: group.restarts() } }),
  };
}

export interface RouteView {
  name: string;
  /** null: any host. */
  host: string | null;
  /** null: any path. */
  path: { kind: 'prefix' | 'exact' | 'regex'; value: string } | null;
  /** null: any method. */
  methods: string[] | null;
  action: { kind: 'service'; service: string } | { kind: 'redirect'; status: number; to: string } | { kind: 'respond'; status: number };
  /** The route's own rules, one line each, in the order they apply. */
  rules: string[];
}

export function routesView(runtime: Runtime): RouteView[] {
  return runtime.config.routes.map((route) => ({
    name: route.name,
    host: route.host ?? null,
    path: route.path ? { ...route.path } : null,
    methods: route.methods ? [...route.methods] : null,
    action:
      route.action.kind === 'forward'
        ? { kind: 'service', service: route.action.service }
        : route.action.kind === 'redirect'
          ? { kind: 'redirect', status: route.action.status, to: route.action.to }
          : { kind: 'respond', status: route.action.status },
    rules: ruleSummary(route),
  }));
}

/** "strip_prefix /api", "firewall: ip_reject 2, methods GET,POST", "rate_limit 100/s burst 20 per client_ip", ... */
export function ruleSummary(route: RouteConfig): string[] {
  const rules: string[] = [];
  if (route.httpsRedirect) rules.push('https_redirect');
  if (route.canonicalHost !== undefined) rules.push(`canonical_host ${route.canonicalHost}`);
  const firewall = summarizeFirewall(route.firewall);
  if (firewall) rules.push(`firewall: ${firewall}`);
  for (const limit of route.rateLimits) {
    const key = limit.key.map((part) => (part.kind === 'header' ? `header:${part.name}` : part.kind)).join(' + ');
    rules.push(`rate_limit ${limit.rateText} burst ${limit.burst} per ${key}${limit.store.kind === 'redis' ? ' (redis)' : ''}`);
  }
  if (route.stripPrefix) rules.push(`strip_prefix ${route.stripPrefix}`);
  for (const [from, to] of route.rewrite.replace) rules.push(`rewrite replace ${from} → ${to}`);
  if (route.rewrite.regex) rules.push(`rewrite regex ${route.rewrite.regex.pattern} → ${route.rewrite.regex.to}`);
  if (route.rewrite.addPrefix) rules.push(`rewrite add_prefix ${route.rewrite.addPrefix}`);
  const query = editSummary(route.query);
  if (query) rules.push(`query: ${query}`);
  const request = editSummary(route.requestHeaders);
  if (request) rules.push(`request_headers: ${request}`);
  const response = editSummary(route.responseHeaders);
  if (response) rules.push(`response_headers: ${response}`);
  const timeouts = TIMEOUT_KEYS.flatMap(([key, name]) => {
    const ms = route.timeouts[key];
    return ms === undefined ? [] : [`${name} ${formatDuration(ms)}`];
  });
  if (timeouts.length) rules.push(`timeouts: ${timeouts.join(', ')}`);
  if (route.retryNonIdempotent) rules.push('retry_non_idempotent');
  return rules;
}

const TIMEOUT_KEYS = [
  ['connectMs', 'connect'],
  ['responseHeadersMs', 'response_headers'],
  ['idleMs', 'idle'],
] as const;

/** "- Cookie; = X-A; + X-B": which names are removed, set, added. */
function editSummary(rules: HeaderRules | QueryRules): string {
  return [...rules.remove.map((name) => `- ${name}`), ...rules.set.map(([name]) => `= ${name}`), ...rules.add.map(([name]) => `+ ${name}`)].join('; ');
}

export interface BackendView {
  address: string;
  state: string;
  reason: string;
  since: string;
  /** The last changes of state, oldest first. */
  history: Array<{ state: string; reason: string; at: string }>;
  inflight: number;
  weight: number;
  backup: boolean;
  ejections: number;
  /** Peak-EWMA of response latency, ms (0 before the first response). */
  latency_ms: number;
  /** Drained by an operator (weight 0 drains too, but is not this). */
  drained: boolean;
}

/** `group`: in a worker group's primary, where the requests in flight and the latency are the workers'. */
export function backendView(backend: Backend, group?: GroupView): BackendView {
  const load = group?.load(backend);
  return {
    address: backend.label,
    state: backend.state,
    reason: backend.reason,
    since: iso(backend.since),
    history: backend.history.map((change) => ({ state: change.state, reason: change.reason, at: iso(change.at) })),
    inflight: load ? load.inflight : backend.inflight,
    weight: backend.weight,
    backup: backend.backup,
    ejections: backend.ejections,
    latency_ms: Math.round((load ? load.latencyMs : backend.latency.value) * 10) / 10,
    drained: backend.drained,
  };
}

export interface ServiceView {
  name: string;
  balance: string;
  /** null: no active checks (every backend is taken as up). */
  health_check: (HealthCheckView & { summary: string }) | null;
  /** null: passive health is off. */
  passive_health: string | null;
  backends: BackendView[];
}

interface HealthCheckView {
  type: 'http' | 'tcp';
  method: string | null;
  path: string | null;
  interval_ms: number;
  timeout_ms: number;
  healthy_threshold: number;
  unhealthy_threshold: number;
}

export function servicesView(runtime: Runtime, group?: GroupView): ServiceView[] {
  return [...runtime.services.values()].map((service) => serviceView(service, group));
}

export function serviceView(service: Service, group?: GroupView): ServiceView {
  const check = service.config.healthCheck;
  const passive = service.config.passiveHealth;
  return {
    name: service.name,
    balance: service.config.balance,
    health_check: check ? { ...healthCheckView(check), summary: healthCheckSummary(check) } : null,
    passive_health: passive
      ? `eject after ${passive.consecutiveFailures} failed requests in a row, for ${formatDuration(passive.baseEjectionMs)} (up to ${formatDuration(passive.maxEjectionMs)}), at most ${passive.maxEjectedPercent}% of backends`
      : null,
    backends: service.backends.map((backend) => backendView(backend, group)),
  };
}

function healthCheckView(check: HealthCheckConfig): HealthCheckView {
  const http = check.type === 'http';
  return {
    type: check.type,
    method: http ? check.method : null,
    path: http ? check.path : null,
    interval_ms: check.intervalMs,
    timeout_ms: check.timeoutMs,
    healthy_threshold: check.healthyThreshold,
    unhealthy_threshold: check.unhealthyThreshold,
  };
}

/** "GET /healthcheck every 5s (timeout 2s); down after 3 failures, up after 2 passes". */
export function healthCheckSummary(check: HealthCheckConfig): string {
  const what = check.type === 'tcp' ? 'TCP connect' : `${check.method} ${check.path}`;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;
  return `${what} every ${formatDuration(check.intervalMs)} (timeout ${formatDuration(check.timeoutMs)}); down after ${plural(check.unhealthyThreshold, 'failure')}, up after ${plural(check.healthyThreshold, 'pass')}`;
}

export interface TrafficView {
  /** null: requests no route matched. */
  route: string | null;
  requests: number;
  requests_per_second: number;
  error_rate: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  window_seconds: number;
}

/** Every route of the runtime (quiet ones at zero), in file order, then requests no route matched if there were any. */
export function trafficView(runtime: Runtime, traffic: readonly RouteTraffic[]): TrafficView[] {
  const byRoute = new Map(traffic.map((entry) => [entry.route, entry]));
  const window = traffic[0]?.windowSeconds ?? 10;
  const view = (route: string | undefined): TrafficView => {
    const entry = byRoute.get(route);
    return {
      route: route ?? null,
      requests: entry?.requests ?? 0,
      requests_per_second: round(entry?.requestsPerSecond ?? 0, 2),
      error_rate: round(entry?.errorRate ?? 0, 4),
      latency_ms: { p50: roundOrNull(entry?.p50Ms), p95: roundOrNull(entry?.p95Ms), p99: roundOrNull(entry?.p99Ms) },
      window_seconds: round(entry?.windowSeconds ?? window, 3),
    };
  };
  const views = runtime.config.routes.map((route) => view(route.name));
  // Routes a reload removed still show until their requests leave the window.
  const known = new Set(runtime.config.routes.map((route) => route.name));
  for (const entry of traffic) if (entry.route !== undefined && !known.has(entry.route)) views.push(view(entry.route));
  if (byRoute.has(undefined)) views.push(view(undefined));
  return views;
}

/** The most recent refusals, newest first. */
export function refusalsView(refusals: readonly RecentRefusal[], limit = 20): Array<{ at: string; status: number; reason: string; client: string; url: string }> {
  return refusals
    .slice(-limit)
    .reverse()
    .map((refusal) => ({ at: iso(refusal.at), status: refusal.status, reason: refusal.reason, client: refusal.client, url: refusal.url }));
}

/** What /api/events sends every second. */
export function snapshotView(context: AdminContext): {
  at: string;
  status: StatusView;
  services: ServiceView[];
  routes: TrafficView[];
  refusals: ReturnType<typeof refusalsView>;
} {
  const runtime = context.runtime();
  const now = Date.now();
  return {
    at: iso(now),
    status: statusView(context, now),
    services: servicesView(runtime, context.group),
    routes: trafficView(runtime, context.routeStats()),
    refusals: refusalsView(context.recentRefusals()),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function roundOrNull(value: number | undefined): number | null {
  return value === undefined ? null : round(value, 1);
}
