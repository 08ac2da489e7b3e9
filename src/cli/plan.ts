// `weir plan`: what changes between the running config and a new one, read
// from the validated configs (so two ways of writing the same thing are no
// change, and defaults count as written), and the new config's warnings.
//
// One line per change, each starting with what it is about, so a plan can
// be grepped:
//
//   + route "beta": host beta.example.com, path prefix /b → service beta
//   - route "old": any host, path prefix /old → service web
//   ~ route "api": firewall.ip_reject: + 10.1.0.0/16, - 10.0.0.0/8
//   + service "new": round_robin, servers 127.0.0.1:9001
//   ~ service "api": balance: round_robin → least_connections
//   + backend "api" 127.0.0.1:8084
//   ~ backend "api" localhost:8082: weight: 1 → 2
//   ~ setting listen: 127.0.0.1:8080 → 0.0.0.0:80
//   ~ defaults: firewall.ip_reject: + 192.0.2.0/24
//
// Routes are matched by name; an unnamed route's name comes from its
// position, so moving one reads as removed and added.

import { formatAddress } from '../config/address.ts';
import { without } from '../config/summary.ts';
import type {
  FirewallRules,
  HashKey,
  HeaderRules,
  HealthCheckConfig,
  PassiveHealthConfig,
  PathRule,
  RateLimitConfig,
  RouteConfig,
  RuleSet,
  ServerConfig,
  ServiceConfig,
  WeirConfig,
} from '../config/types.ts';
import { configWarnings } from './config-warnings.ts';
import { describeAction, describeMatch, describePath, describeRespond, formatMs } from './config-words.ts';

export interface Counts {
  added: number;
  removed: number;
  changed: number;
}

export interface ConfigPlan {
  /** "+ ...", "- ...", "~ ..." lines in a stable order: settings, defaults, routes, services, backends. */
  changes: string[];
  /** The new config's "warning: ..." lines. */
  warnings: string[];
  routes: Counts;
  services: Counts;
  backends: Counts;
  /** Settings and defaults keys that changed. */
  settings: number;
}

export function planConfigChange(running: WeirConfig, next: WeirConfig): ConfigPlan {
  const plan: ConfigPlan = {
    changes: [],
    warnings: configWarnings(next),
    routes: counts(),
    services: counts(),
    backends: counts(),
    settings: 0,
  };
  const settingLines = compare(running, next, SETTINGS).map((line) => `~ setting ${line}`);
  const defaultLines = compare(running.defaults, next.defaults, RULES).map((line) => `~ defaults: ${line}`);
  plan.settings = settingLines.length + defaultLines.length;
  plan.changes.push(...settingLines, ...defaultLines);
  planRoutes(running.routes, next.routes, plan);
  planServices(running.services, next.services, plan);
  return plan;
}

/** The plan as printed: a heading, the changes (or "no changes"), the warnings, a summary line. */
export function formatPlan(plan: ConfigPlan, runningLabel: string, nextLabel: string): string {
  const count = (label: string, c: Counts): string => `${label} +${c.added} -${c.removed} ~${c.changed}`;
  const warnings = `${plan.warnings.length} warning${plan.warnings.length === 1 ? '' : 's'}`;
  return [
    `plan: ${runningLabel} → ${nextLabel}`,
    ...(plan.changes.length === 0 ? ['no changes'] : plan.changes),
    ...plan.warnings,
    `summary: ${count('routes', plan.routes)}, ${count('services', plan.services)}, ${count('backends', plan.backends)}, settings ~${plan.settings}; ${warnings}`,
  ].join('\n');
}

function counts(): Counts {
  return { added: 0, removed: 0, changed: 0 };
}

function planRoutes(running: readonly RouteConfig[], next: readonly RouteConfig[], plan: ConfigPlan): void {
  const before = new Map(running.map((route) => [route.name, route]));
  const after = new Set(next.map((route) => route.name));
  for (const route of next) {
    const old = before.get(route.name);
    if (old === undefined) {
      plan.changes.push(`+ route "${route.name}": ${describeRoute(route)}`);
      plan.routes.added++;
      continue;
    }
    const lines = [...compare(old, route, ROUTE), ...compare(old, route, RULES)];
    if (lines.length > 0) plan.routes.changed++;
    plan.changes.push(...lines.map((line) => `~ route "${route.name}": ${line}`));
  }
  for (const route of running) {
    if (after.has(route.name)) continue;
    plan.changes.push(`- route "${route.name}": ${describeRoute(route)}`);
    plan.routes.removed++;
  }
}

function describeRoute(route: RouteConfig): string {
  return `${describeMatch(route, { anyMethod: false })} → ${describeAction(route.action)}`;
}

function planServices(running: ReadonlyMap<string, ServiceConfig>, next: ReadonlyMap<string, ServiceConfig>, plan: ConfigPlan): void {
  const backendLines: string[] = [];
  for (const [name, service] of next) {
    const old = running.get(name);
    if (old === undefined) {
      plan.changes.push(`+ service "${name}": ${describeService(service)}`);
      plan.services.added++;
      continue;
    }
    const lines = compare(old, service, SERVICE);
    if (lines.length > 0) plan.services.changed++;
    plan.changes.push(...lines.map((line) => `~ service "${name}": ${line}`));
    backendLines.push(...planBackends(name, old.servers, service.servers, plan));
  }
  for (const [name, service] of running) {
    if (next.has(name)) continue;
    plan.changes.push(`- service "${name}": ${describeService(service)}`);
    plan.services.removed++;
  }
  plan.changes.push(...backendLines);
}

function describeService(service: ServiceConfig): string {
  return `${service.balance}, servers ${service.servers.map(describeServer).join(', ')}`;
}

/** "127.0.0.1:8081", "127.0.0.1:8082 (weight 2)", "[::1]:8083 (backup)". */
function describeServer(server: ServerConfig): string {
  return `${formatAddress(server.address)}${server.backup ? ' (backup)' : ''}${server.weight !== 1 ? ` (weight ${server.weight})` : ''}`;
}

/** Backends are the servers of a service that both configs have, by address. */
function planBackends(service: string, running: readonly ServerConfig[], next: readonly ServerConfig[], plan: ConfigPlan): string[] {
  const key = (server: ServerConfig): string => formatAddress(server.address);
  const before = new Map(running.map((server) => [key(server), server]));
  const after = new Map(next.map((server) => [key(server), server]));
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [address, server] of after) {
    const old = before.get(address);
    if (old === undefined) {
      added.push(`+ backend "${service}" ${describeServer(server)}`);
      continue;
    }
    const lines = compare(old, server, BACKEND);
    if (lines.length > 0) plan.backends.changed++;
    changed.push(...lines.map((line) => `~ backend "${service}" ${address}: ${line}`));
  }
  for (const address of before.keys()) if (!after.has(address)) removed.push(`- backend "${service}" ${address}`);
  plan.backends.added += added.length;
  plan.backends.removed += removed.length;
  return [...added, ...removed, ...changed];
}

// --- Comparing values key by key ---

/**
 * A key as written in YAML and its value in words: one text, or a list
 * whose items are compared as a set (then reported as "+ a, - b", or
 * "reordered" when only the order changed), or a section with keys of its
 * own (see section()).
 */
type Field<T> =
  | { key: string; text: (value: T) => string }
  | { key: string; list: (value: T) => readonly string[] }
  | { key: string; lines: (before: T, after: T) => string[] };

function compare<T>(before: T, after: T, fields: readonly Field<T>[]): string[] {
  const lines: string[] = [];
  for (const field of fields) {
    if ('text' in field) {
      const a = field.text(before);
      const b = field.text(after);
      if (a !== b) lines.push(`${field.key}: ${a} → ${b}`);
    } else if ('list' in field) {
      const change = compareLists(field.list(before), field.list(after));
      if (change !== undefined) lines.push(`${field.key}: ${change}`);
    } else {
      lines.push(...field.lines(before, after));
    }
  }
  return lines;
}

/**
 * An optional section (health_check): one line with its summary when one
 * side has none (`none` names its absence), otherwise a line for each of its keys that changed.
 */
function section<T, S>(
  key: string,
  get: (value: T) => S | undefined,
  summary: (section: S) => string,
  fields: readonly Field<S>[],
  none = 'none',
): Field<T> {
  return {
    key,
    lines: (before, after) => {
      const a = get(before);
      const b = get(after);
      if (a === undefined && b === undefined) return [];
      if (a === undefined || b === undefined) {
        return [`${key}: ${a === undefined ? none : summary(a)} → ${b === undefined ? none : summary(b)}`];
      }
      return compare(a, b, fields).map((line) => `${key}.${line}`);
    },
  };
}

/** "+ c, - a", "reordered: a, b → b, a", or undefined when the lists are the same. */
function compareLists(before: readonly string[], after: readonly string[]): string | undefined {
  const added = without(after, before);
  const removed = without(before, after);
  if (added.length === 0 && removed.length === 0) {
    if (before.every((item, i) => item === after[i])) return undefined;
    return `reordered: ${before.join(', ')} → ${after.join(', ')}`;
  }
  return [...added.map((item) => `+ ${item}`), ...removed.map((item) => `- ${item}`)].join(', ');
}


const text = <T>(key: string, fn: (value: T) => string): Field<T> => ({ key, text: fn });
const list = <T>(key: string, fn: (value: T) => readonly string[]): Field<T> => ({ key, list: fn });
const orNone = (value: string | undefined): string => (value === undefined || value === '' ? 'none' : value);
const pairs = (entries: ReadonlyArray<readonly [string, string]>): string[] => entries.map(([name, value]) => `${name}: ${value}`);
const size = (bytes: number | undefined): string => (bytes === undefined ? 'none' : `${bytes} bytes`);

const SETTINGS: Field<WeirConfig>[] = [
  text('listen', (c) => formatAddress(c.listen)),
  list('trusted_proxies', (c) => c.trustedProxies),
  text('proxy_protocol', (c) => String(c.proxyProtocol)),
  text('request_id', (c) => c.requestIdHeader ?? 'off'),
  text('limits.client_connections', (c) => String(c.limits.clientConnections)),
  text('limits.pipelined_requests', (c) => String(c.limits.pipelinedRequests)),
  text('limits.upstream_requests', (c) => String(c.limits.upstreamRequests)),
  text('client_timeouts.header', (c) => formatMs(c.clientTimeouts.headerMs)),
  text('client_timeouts.body_idle', (c) => formatMs(c.clientTimeouts.bodyIdleMs)),
  text('client_timeouts.keep_alive', (c) => formatMs(c.clientTimeouts.keepAliveMs)),
];

function headerFields(key: string, of: (rules: RuleSet) => HeaderRules): Field<RuleSet>[] {
  return [
    list(`${key}.remove`, (r) => of(r).remove),
    list(`${key}.set`, (r) => pairs(of(r).set)),
    list(`${key}.add`, (r) => pairs(of(r).add)),
  ];
}

function pathRule(rule: PathRule): string {
  return rule.kind === 'regex' ? `regex ${rule.value}` : rule.value;
}

function firewallFields(): Field<RuleSet>[] {
  const fw = (r: RuleSet): FirewallRules => r.firewall;
  return [
    list('firewall.ip_allow', (r) => fw(r).ipAllow),
    list('firewall.ip_reject', (r) => fw(r).ipReject),
    list('firewall.path_reject', (r) => fw(r).pathReject.map(pathRule)),
    text('firewall.methods', (r) => fw(r).methods?.join(', ') ?? 'any'),
    text('firewall.max_url_length', (r) => size(fw(r).maxUrlLength)),
    text('firewall.max_header_size', (r) => size(fw(r).maxHeaderBytes)),
    text('firewall.max_body_size', (r) => size(fw(r).maxBodyBytes)),
  ];
}

function describeLimit(limit: RateLimitConfig): string {
  const key = limit.key.map((part) => (part.kind === 'header' ? `header:${part.name}` : part.kind)).join(' + ');
  const store = limit.store.kind === 'redis' ? `redis ${limit.store.url}, on error ${limit.onStoreError}` : 'local';
  return `${limit.rateText} burst ${limit.burst} per ${key} (${store})`;
}

/** The rules of a route or of `defaults`. */
const RULES: Field<RuleSet>[] = [
  ...firewallFields(),
  list('rate_limit', (r) => r.rateLimits.map(describeLimit)),
  ...headerFields('request_headers', (r) => r.requestHeaders),
  ...headerFields('response_headers', (r) => r.responseHeaders),
  list('query.remove', (r) => r.query.remove),
  list('query.set', (r) => pairs(r.query.set)),
  list('query.add', (r) => pairs(r.query.add)),
];

const ROUTE: Field<RouteConfig>[] = [
  text('host', (r) => r.host ?? 'any'),
  text('path', (r) => describePath(r.path).replace(/^path /, '').replace(/^any path$/, 'any')),
  text('methods', (r) => r.methods?.join(', ') ?? 'any'),
  text('strip_prefix', (r) => orNone(r.stripPrefix)),
  list('rewrite.replace', (r) => pairs(r.rewrite.replace)),
  text('rewrite.regex', (r) => (r.rewrite.regex === undefined ? 'none' : `${r.rewrite.regex.pattern} to ${r.rewrite.regex.to}`)),
  text('rewrite.add_prefix', (r) => orNone(r.rewrite.addPrefix)),
  text('https_redirect', (r) => String(r.httpsRedirect)),
  text('canonical_host', (r) => orNone(r.canonicalHost)),
  text('service', (r) => (r.action.kind === 'forward' ? r.action.service : 'none')),
  text('redirect', (r) => (r.action.kind === 'redirect' ? `${r.action.status} ${r.action.to}` : 'none')),
  text('respond', (r) => (r.action.kind === 'respond' ? describeRespond(r.action) : 'none')),
  text('timeouts.connect', (r) => routeTimeout(r.timeouts.connectMs)),
  text('timeouts.response_headers', (r) => routeTimeout(r.timeouts.responseHeadersMs)),
  text('timeouts.idle', (r) => routeTimeout(r.timeouts.idleMs)),
  text('retry_non_idempotent', (r) => String(r.retryNonIdempotent)),
];

function routeTimeout(ms: number | undefined): string {
  return ms === undefined ? "service's" : formatMs(ms);
}

function describeHashKey(key: HashKey): string {
  return key.kind === 'header' || key.kind === 'cookie' ? `${key.kind}:${key.name}` : key.kind;
}

function describeHealthCheck(check: HealthCheckConfig): string {
  return check.type === 'tcp' ? `tcp every ${formatMs(check.intervalMs)}` : `${check.method} ${check.path} every ${formatMs(check.intervalMs)}`;
}

function describePassive(passive: PassiveHealthConfig): string {
  return `${passive.consecutiveFailures} failures, ejection ${formatMs(passive.baseEjectionMs)} to ${formatMs(passive.maxEjectionMs)}, at most ${passive.maxEjectedPercent}%`;
}

const HEALTH_CHECK: Field<HealthCheckConfig>[] = [
  text('type', (h) => h.type),
  text('method', (h) => h.method),
  text('path', (h) => h.path),
  text('host', (h) => h.host ?? "the server's address"),
  text('expected_body', (h) => orNone(h.expectedBody)),
  text('interval', (h) => formatMs(h.intervalMs)),
  text('timeout', (h) => formatMs(h.timeoutMs)),
  text('healthy_threshold', (h) => String(h.healthyThreshold)),
  text('unhealthy_threshold', (h) => String(h.unhealthyThreshold)),
  list('expected_statuses', (h) => h.expectedStatuses.map(([low, high]) => (low === high ? String(low) : `${low}-${high}`))),
];

const PASSIVE_HEALTH: Field<PassiveHealthConfig>[] = [
  text('consecutive_failures', (p) => String(p.consecutiveFailures)),
  text('base_ejection', (p) => formatMs(p.baseEjectionMs)),
  text('max_ejection', (p) => formatMs(p.maxEjectionMs)),
  text('max_ejected_percent', (p) => `${p.maxEjectedPercent}%`),
];

const SERVICE: Field<ServiceConfig>[] = [
  text('balance', (s) => s.balance),
  text('hash_key', (s) => describeHashKey(s.hashKey)),
  text('sticky', (s) => (s.sticky === undefined ? 'none' : `cookie ${s.sticky.cookie}`)),
  section('health_check', (s) => s.healthCheck, describeHealthCheck, HEALTH_CHECK),
  section('passive_health', (s) => s.passiveHealth, describePassive, PASSIVE_HEALTH, 'off'),
  text('panic_threshold', (s) => `${s.panicThresholdPercent}%`),
  text('slow_start', (s) => (s.slowStartMs === 0 ? 'none' : formatMs(s.slowStartMs))),
  text('retries.attempts', (s) => String(s.retries.attempts)),
  list('retries.on_statuses', (s) => s.retries.onStatuses.map(String)),
  text('retries.budget', (s) => `${s.retries.budgetPercent}%`),
  text('retries.min_per_second', (s) => String(s.retries.minRetriesPerSecond)),
  text('max_connections', (s) => (s.maxConnections === undefined ? 'unlimited' : String(s.maxConnections))),
  text('queue.size', (s) => String(s.queue.size)),
  text('queue.timeout', (s) => formatMs(s.queue.timeoutMs)),
  text('timeouts.connect', (s) => formatMs(s.timeouts.connectMs)),
  text('timeouts.response_headers', (s) => formatMs(s.timeouts.responseHeadersMs)),
  text('timeouts.idle', (s) => formatMs(s.timeouts.idleMs)),
];

const BACKEND: Field<ServerConfig>[] = [text('weight', (s) => String(s.weight)), text('backup', (s) => String(s.backup))];
