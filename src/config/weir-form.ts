// Reads a config in weir's own form: validates it with the zod schema and
// turns the parsed YAML shape (snake_case, maps) into the WeirConfig shape.

import {
  findDuplicateRoutes,
  findRepeatedNames,
  findUnknownServices,
  type PlacedRoute,
  type ServiceReference,
} from './cross-checks.ts';
import type { FormReading, PathIssue } from './issue.ts';
import { isPlainObject } from './plain-object.ts';
import { certificateFileIssues, upstreamTlsFileIssues } from './tls-files.ts';
import {
  routeSchema,
  weirFileSchema,
  type ParsedAccessLog,
  type ParsedAdmin,
  type ParsedClientTimeouts,
  type ParsedLimits,
  type ParsedListener,
  type ParsedRoute,
  type ParsedRules,
  type ParsedService,
} from './schema.ts';
import type {
  AccessLogConfig,
  AdminConfig,
  ClientTimeoutsConfig,
  HeaderRules,
  LimitsConfig,
  ListenerConfig,
  ListenerTlsConfig,
  PathMatch,
  PathRule,
  RateLimitConfig,
  RouteAction,
  RouteConfig,
  RuleSet,
  ServiceConfig,
} from './types.ts';
import { friendlyMessage, fromZodError } from './zod-issues.ts';

export function readWeirForm(value: Record<string, unknown>): FormReading {
  const parsed = weirFileSchema.safeParse(value, { error: friendlyMessage });
  const issues: PathIssue[] = parsed.success ? [] : fromZodError(parsed.error, weirFileSchema).map(explainCourseKeys);

  // The checks across routes also run when another part of the file is
  // wrong, on every route that is valid on its own (every `service` that is a
  // string), so that fixing one mistake does not just reveal the next.
  const routes = placeRoutes(value.routes);
  const serviceNames = isPlainObject(value.services) ? Object.keys(value.services) : [];
  issues.push(
    ...findDuplicateRoutes(routes),
    ...findRepeatedNames(routes),
    ...findUnknownServices(serviceReferences(value.routes), serviceNames),
  );

  if (value.listen !== undefined && value.listeners !== undefined) {
    issues.push({ path: ['listen'], message: 'give either listen (one plain listener) or listeners, not both' });
  }
  if (!parsed.success || issues.length > 0) return { ok: false, issues };
  const file = parsed.data;
  const listeners = (file.listeners ?? [{ address: file.listen }]).map((listener) => toListener(listener, file.routes));
  const acmeWithoutDomains = listeners.findIndex((listener) => listener.tls?.acme?.domains.length === 0);
  if (acmeWithoutDomains !== -1) {
    issues.push({ path: ['listeners', acmeWithoutDomains, 'tls', 'acme', 'domains'], message: 'no route has an exact host to take the names from; list the domains' });
  }
  issues.push(...certificateFileIssues(listeners), ...upstreamTlsFileIssues(file.services));
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    config: {
      form: 'weir',
      listen: listeners[0]!.address,
      listeners,
      ...(file.workers !== undefined && { workers: file.workers }),
      defaults: toRuleSet(file.defaults ?? {}, 'defaults'),
      trustedProxies: file.trusted_proxies,
      proxyProtocol: file.proxy_protocol,
      requestIdHeader: file.request_id === false ? undefined : file.request_id.header,
      limits: toLimits(file.limits),
      clientTimeouts: toClientTimeouts(file.client_timeouts),
      log: { level: file.log.level },
      ...(file.access_log !== undefined && { accessLog: toAccessLog(file.access_log) }),
      ...(file.admin !== undefined && { admin: toAdmin(file.admin) }),
      routes: file.routes.map(toRouteConfig),
      services: new Map(Object.entries(file.services).map(([name, service]) => [name, toServiceConfig(name, service)])),
    },
  };
}

function toAccessLog(accessLog: ParsedAccessLog): AccessLogConfig {
  return { path: accessLog.path, minStatus: accessLog.min_status, sample: accessLog.sample };
}

function toAdmin(admin: ParsedAdmin): AdminConfig {
  // Left out rather than undefined: no token is the key's absence.
  return admin.token === undefined ? { listen: admin.listen } : { listen: admin.listen, token: admin.token };
}

export function toLimits(limits: ParsedLimits): LimitsConfig {
  return {
    clientConnections: limits.client_connections,
    pipelinedRequests: limits.pipelined_requests,
    upstreamRequests: limits.upstream_requests,
    http2Streams: limits.http2_streams,
    http2HeaderListBytes: limits.http2_header_list,
  };
}

function toListener(listener: ParsedListener, routes: ParsedRoute[]): ListenerConfig {
  const tls = listener.tls;
  if (tls === undefined) return { address: listener.address, http2: listener.http2 ?? false };
  const config: ListenerTlsConfig = {
    minVersion: tls.min_version,
    certificates: tls.certificates.map((files) => ({ cert: files.cert, key: files.key })),
  };
  const acme = tls.acme;
  if (acme !== undefined) {
    config.acme = {
      email: acme.email,
      directory: acme.directory,
      domains: acme.domains ?? exactHosts(routes),
      storage: acme.storage,
      ...(acme.ca !== undefined && { ca: acme.ca }),
      renewAfterShare: 2 / 3,
    };
  }
  return { address: listener.address, http2: listener.http2 ?? true, tls: config };
}

/** The routes' hosts that name one host (no wildcard), for ACME's default domains. */
function exactHosts(routes: ParsedRoute[]): string[] {
  const hosts = routes.map((route) => route.host).filter((host): host is string => host !== undefined && !host.includes('*'));
  return [...new Set(hosts)];
}

export function toClientTimeouts(timeouts: ParsedClientTimeouts): ClientTimeoutsConfig {
  return { headerMs: timeouts.header, bodyIdleMs: timeouts.body_idle, keepAliveMs: timeouts.keep_alive };
}

/** hosts and paths next to routes/services: someone half-way from the course's form to weir's. */
function explainCourseKeys(issue: PathIssue): PathIssue {
  const [key, ...rest] = issue.path;
  if (!issue.atKey || rest.length > 0 || (key !== 'hosts' && key !== 'paths')) return issue;
  return { ...issue, message: `unknown key; ${key} belongs to the course's form, which cannot be mixed with routes and services` };
}

function placeRoutes(routes: unknown): PlacedRoute[] {
  if (!Array.isArray(routes)) return [];
  return routes.flatMap((raw: unknown, index) => {
    const parsed = routeSchema.safeParse(raw);
    return parsed.success ? [{ route: toRouteConfig(parsed.data, index), path: ['routes', index], named: parsed.data.name !== undefined }] : [];
  });
}

function serviceReferences(routes: unknown): ServiceReference[] {
  if (!Array.isArray(routes)) return [];
  return routes.flatMap((route: unknown, index) =>
    isPlainObject(route) && typeof route.service === 'string' && route.service !== '' ? [{ service: route.service, path: ['routes', index, 'service'] }] : [],
  );
}

export function toRouteConfig(route: ParsedRoute, index: number): RouteConfig {
  const path = pathMatch(route);
  const config: RouteConfig = {
    name: route.name ?? defaultRouteName(index, route.host, path),
    stripPrefix: stripPrefixOf(route),
    ...toRuleSet(route, `routes[${index}]`),
    rewrite: {
      replace: Object.entries(route.rewrite?.replace ?? {}),
      addPrefix: route.rewrite?.add_prefix ?? '',
      ...(route.rewrite?.regex !== undefined && { regex: { pattern: route.rewrite.regex, to: route.rewrite.to ?? '' } }),
    },
    httpsRedirect: route.https_redirect,
    action: actionOf(route),
    timeouts: routeTimeouts(route.timeouts),
    retryNonIdempotent: route.retry_non_idempotent,
  };
  // Left out rather than undefined: "matches any" is the key's absence.
  if (route.host !== undefined) config.host = route.host;
  if (path !== undefined) config.path = path;
  if (route.methods !== undefined) config.methods = route.methods;
  if (route.canonical_host !== undefined) config.canonicalHost = route.canonical_host;
  return config;
}

function actionOf(route: ParsedRoute): RouteAction {
  if (route.redirect !== undefined) return { kind: 'redirect', status: route.redirect.status, to: route.redirect.to };
  if (route.respond !== undefined) {
    return { kind: 'respond', status: route.respond.status, body: route.respond.body, headers: Object.entries(route.respond.headers ?? {}) };
  }
  // The schema makes sure a route has one of the three.
  return { kind: 'forward', service: route.service ?? '' };
}

/** The rules of a route or of `defaults`; `where` names them in logs ("routes[2]"). */
export function toRuleSet(rules: ParsedRules, where: string): RuleSet {
  const firewall = rules.firewall;
  const limits = rules.rate_limit === undefined ? [] : Array.isArray(rules.rate_limit) ? rules.rate_limit : [rules.rate_limit];
  return {
    requestHeaders: headerRules(rules.request_headers),
    responseHeaders: headerRules(rules.response_headers),
    query: {
      add: Object.entries(rules.query?.add ?? {}),
      set: Object.entries(rules.query?.set ?? {}),
      remove: rules.query?.remove ?? [],
    },
    firewall: {
      ipAllow: firewall?.ip_allow ?? [],
      ipReject: firewall?.ip_reject ?? [],
      pathReject: (firewall?.path_reject ?? []).map(pathRule),
      ...(firewall?.methods !== undefined && { methods: firewall.methods }),
      ...(firewall?.max_url_length !== undefined && { maxUrlLength: firewall.max_url_length }),
      ...(firewall?.max_header_size !== undefined && { maxHeaderBytes: firewall.max_header_size }),
      ...(firewall?.max_body_size !== undefined && { maxBodyBytes: firewall.max_body_size }),
    },
    rateLimits: limits.map((limit, i): RateLimitConfig => ({
      id: limits.length === 1 ? `${where}.rate_limit` : `${where}.rate_limit[${i}]`,
      key: Array.isArray(limit.key) ? limit.key : [limit.key],
      ratePerSecond: limit.rate.perSecond,
      rateText: limit.rate.text,
      windowSeconds: limit.rate.windowSeconds,
      burst: limit.burst ?? Math.max(1, Math.ceil(limit.rate.perSecond)),
      store: limit.store,
      onStoreError: limit.on_store_error,
    })),
  };
}

function headerRules(rules: ParsedRules['request_headers']): HeaderRules {
  return { add: Object.entries(rules?.add ?? {}), set: Object.entries(rules?.set ?? {}), remove: rules?.remove ?? [] };
}

function pathRule(rule: string | { regex: string }): PathRule {
  if (typeof rule !== 'string') return { kind: 'regex', value: rule.regex };
  return rule.includes('*') || rule.includes('?') ? { kind: 'glob', value: rule } : { kind: 'prefix', value: rule };
}

function routeTimeouts(timeouts: ParsedRoute['timeouts']): RouteConfig['timeouts'] {
  const result: RouteConfig['timeouts'] = {};
  if (timeouts?.connect !== undefined) result.connectMs = timeouts.connect;
  if (timeouts?.response_headers !== undefined) result.responseHeadersMs = timeouts.response_headers;
  if (timeouts?.idle !== undefined) result.idleMs = timeouts.idle;
  return result;
}

/** true means the route's own path; absent or false, nothing (""). */
function stripPrefixOf(route: ParsedRoute): string {
  const stripPrefix = route.strip_prefix ?? route.rewrite?.strip_prefix;
  if (stripPrefix === true) return route.path ?? '';
  return stripPrefix || '';
}

function pathMatch(route: ParsedRoute): PathMatch | undefined {
  if (route.path !== undefined) return { kind: 'prefix', value: route.path };
  if (route.path_exact !== undefined) return { kind: 'exact', value: route.path_exact };
  if (route.path_regex !== undefined) return { kind: 'regex', value: route.path_regex };
  return undefined;
}

/** "routes[0]: host api.example.com, path /api": says where to find the route in the file. */
function defaultRouteName(index: number, host: string | undefined, path: PathMatch | undefined): string {
  const parts: string[] = [];
  if (host !== undefined) parts.push(`host ${host}`);
  if (path !== undefined) parts.push(`${PATH_KEYS[path.kind]} ${path.value}`);
  return parts.length === 0 ? `routes[${index}]` : `routes[${index}]: ${parts.join(', ')}`;
}

const PATH_KEYS = { prefix: 'path', exact: 'path_exact', regex: 'path_regex' } as const;

export function toServiceConfig(name: string, service: ParsedService): ServiceConfig {
  const config: ServiceConfig = {
    name,
    servers: service.servers,
    balance: service.balance,
    hashKey: service.hash_key,
    panicThresholdPercent: service.panic_threshold,
    slowStartMs: service.slow_start ?? 0,
    retries: {
      attempts: service.retries.attempts,
      onStatuses: service.retries.on_statuses,
      budgetPercent: service.retries.budget,
      minRetriesPerSecond: service.retries.min_per_second,
    },
    queue: { size: service.queue.size, timeoutMs: service.queue.timeout },
    timeouts: {
      connectMs: service.timeouts.connect,
      responseHeadersMs: service.timeouts.response_headers,
      idleMs: service.timeouts.idle,
    },
    protocol: service.protocol,
  };
  const tls = service.tls;
  if (tls !== undefined) {
    config.tls = {
      ...(tls.ca !== undefined && { ca: tls.ca }),
      ...(tls.cert !== undefined && { cert: tls.cert }),
      ...(tls.key !== undefined && { key: tls.key }),
      ...(tls.server_name !== undefined && { serverName: tls.server_name }),
      insecureSkipVerify: tls.insecure_skip_verify,
    };
  }
  if (service.sticky) config.sticky = { cookie: service.sticky.cookie };
  if (service.max_connections !== undefined) config.maxConnections = service.max_connections;
  const passive = service.passive_health;
  if (passive !== false) {
    config.passiveHealth = {
      consecutiveFailures: passive.consecutive_failures,
      baseEjectionMs: passive.base_ejection,
      maxEjectionMs: passive.max_ejection,
      maxEjectedPercent: passive.max_ejected_percent,
    };
  }
  const check = service.health_check;
  if (check !== undefined) {
    config.healthCheck = {
      type: check.type,
      method: check.method,
      ...(check.host !== undefined && { host: check.host }),
      ...(check.expected_body !== undefined && { expectedBody: check.expected_body }),
      path: check.path,
      intervalMs: check.interval,
      timeoutMs: check.timeout,
      healthyThreshold: check.healthy_threshold,
      unhealthyThreshold: check.unhealthy_threshold,
      expectedStatuses: check.expected_statuses,
    };
  }
  return config;
}
