import type { RouteConfig, RuleSet, TimeoutsConfig, WeirConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { compileAddPrefix } from '../middleware/add-prefix.ts';
import { compileFirewall } from '../middleware/firewall.ts';
import { compileHeaderRules, type HeaderEdit } from '../middleware/headers.ts';
import { compileQuery } from '../middleware/query.ts';
import { compileConditionalRedirect, compileRedirect, type Redirect, type RedirectCheck } from '../middleware/redirect.ts';
import { compileRewriteRegex } from '../middleware/rewrite-regex.ts';
import { compileRewrite } from '../middleware/rewrite.ts';
import { compileStripPrefix } from '../middleware/strip-prefix.ts';
import type { RequestContext, RequestGuard, RequestStep } from '../middleware/types.ts';
import { IpSet } from '../net/ip-set.ts';
import { compileRateLimit, type CompiledRateLimit } from '../ratelimit/rate-limit.ts';
import type { RateLimitStores } from '../ratelimit/stores.ts';
import { createRouter, type Router } from '../routing/router.ts';
import type { BackendSettings } from '../upstream/backend-settings.ts';
import { serviceEndpoints } from '../upstream/client/endpoint.ts';
import type { BackendRegistry } from '../upstream/registry.ts';
import { Service } from '../upstream/service.ts';

/** A step with the config key it comes from, so `weir explain` can say what each one did. */
export interface NamedStep {
  readonly label: string;
  readonly apply: RequestStep;
}

/** What a route does once a request has passed its rules. */
export type CompiledAction =
  | { readonly kind: 'forward'; readonly service: Service }
  | { readonly kind: 'redirect'; readonly redirect: (ctx: RequestContext) => Redirect }
  | { readonly kind: 'respond'; readonly status: number; readonly body: string; readonly headers: readonly string[] };

/** A route ready for the hot path: its checks and steps compiled, its service resolved. */
export interface CompiledRoute {
  readonly name: string;
  readonly config: RouteConfig;
  /** Firewalls, `defaults` first. */
  readonly guards: readonly RequestGuard[];
  /** Rate limits, `defaults` first; each one counts separately. */
  readonly rateLimits: readonly CompiledRateLimit[];
  /** https_redirect and canonical_host. */
  readonly redirect: RedirectCheck | undefined;
  readonly action: CompiledAction;
  /**
   * In order: strip prefix, rewrite (replace, regex, add prefix), then the
   * query and request header rules of `defaults`, then the route's.
   */
  readonly steps: readonly NamedStep[];
  /** Edits the headers of every answer on this route: the request id, then response_headers of `defaults`, then the route's. */
  readonly answerHeaders: HeaderEdit;
  /**
   * True when a step changes the path: those steps work on the normalized
   * path, so what they match is what the router saw. Otherwise the client's
   * path is forwarded with its own encoding.
   */
  readonly rewritesPath: boolean;
  /** The smaller max_body_size of `defaults` and the route: checked while a body without Content-Length streams. */
  readonly maxBodyBytes: number | undefined;
  /** The service's timeouts with the route's own over them (unused by routes that do not forward). */
  readonly timeouts: TimeoutsConfig;
  /** Whether the route's `methods` (or a firewall's) list TRACE, which is refused otherwise. */
  readonly allowsTrace: boolean;
  /** The Allow header of a 405 on this route. */
  readonly allowedMethods: string;
}

/** Everything one config compiles into. Immutable; a reload builds a new one and swaps the reference. */
export interface Runtime {
  readonly config: WeirConfig;
  readonly router: Router<CompiledRoute>;
  readonly services: ReadonlyMap<string, Service>;
  /** What each backend's weight, backup and slow start are to be; applyBackendSettings() applies them (compile touches no live backend). */
  readonly backendSettings: ReadonlyArray<BackendSettings>;
  /** Peers whose forwarding headers are believed; undefined when there are none. */
  readonly trustedProxies: IpSet | undefined;
  /** The request id header as written, and lower-case for lookups; undefined when ids are off. */
  readonly requestIdHeader: { readonly name: string; readonly lower: string } | undefined;
  /** Adds the request id to an answer weir gives before a route's rules apply (refusals, 503s). */
  readonly stampRequestId: HeaderEdit;
}

export function compileRuntime(config: WeirConfig, registry: BackendRegistry, stores: RateLimitStores, log: Logger): Runtime {
  const services = new Map<string, Service>();
  const backendSettings: BackendSettings[] = [];
  for (const [name, serviceConfig] of config.services) {
    // TLS files are read here, once per compile: a reload reads them again.
    const endpointOf = serviceEndpoints(serviceConfig);
    const backends = serviceConfig.servers.map((server) => {
      const backend = registry.lookup(name, server.address, endpointOf(server));
      backendSettings.push({ backend, weight: server.weight, backup: server.backup, slowStartMs: serviceConfig.slowStartMs });
      return backend;
    });
    services.set(name, new Service(serviceConfig, backends, log));
  }
  const requestIdHeader = config.requestIdHeader === undefined ? undefined : { name: config.requestIdHeader, lower: config.requestIdHeader.toLowerCase() };
  const stampRequestId = compileRequestIdStamp(requestIdHeader?.lower);
  const defaults = compileRuleSet(config.defaults, 'defaults', stores, log);
  const routes = config.routes.map((route) => compileRoute(config, route, defaults, stampRequestId, services, stores, log));
  const router = createRouter(
    routes.map((route) => ({ host: route.config.host, path: route.config.path, methods: route.config.methods, value: route })),
  );
  return {
    config,
    router,
    services,
    backendSettings,
    trustedProxies: config.trustedProxies.length > 0 ? IpSet.from(config.trustedProxies) : undefined,
    requestIdHeader,
    stampRequestId,
  };
}

function compileRequestIdStamp(lowerName: string | undefined): HeaderEdit {
  if (lowerName === undefined) return () => undefined;
  return (headers, ctx) => {
    headers.push(lowerName, ctx.requestId);
  };
}

/** One edit for an answer's headers: the request id, then each step in order. */
function chainHeaderEdits(first: HeaderEdit, rest: readonly HeaderEdit[]): HeaderEdit {
  if (rest.length === 0) return first;
  return (headers, ctx) => {
    first(headers, ctx);
    for (const edit of rest) edit(headers, ctx);
  };
}

/** A rule set's compiled parts; `where` is "defaults" or "route" in labels. */
interface CompiledRules {
  guard: RequestGuard | undefined;
  rateLimits: CompiledRateLimit[];
  steps: NamedStep[];
  responseStep: HeaderEdit | undefined;
}

function compileRuleSet(rules: RuleSet, where: 'defaults' | 'route', stores: RateLimitStores, log: Logger): CompiledRules {
  const requestHeaders = compileHeaderRules(rules.requestHeaders);
  return {
    guard: compileFirewall(rules.firewall, where === 'defaults' ? 'defaults: ' : ''),
    rateLimits: rules.rateLimits.map((limit) => compileRateLimit(limit, stores, log)),
    steps: [
      named(`${where} query`, compileQuery(rules.query)),
      named(`${where} request_headers`, requestHeaders && ((req, ctx) => requestHeaders(req.headers, ctx))),
    ].filter(isStep),
    responseStep: compileHeaderRules(rules.responseHeaders),
  };
}

function compileRoute(
  config: WeirConfig,
  route: RouteConfig,
  defaults: CompiledRules,
  stampRequestId: HeaderEdit,
  services: ReadonlyMap<string, Service>,
  stores: RateLimitStores,
  log: Logger,
): CompiledRoute {
  const own = compileRuleSet(route, 'route', stores, log);
  const pathSteps = [
    named('strip_prefix', compileStripPrefix(route.stripPrefix)),
    named('rewrite replace', compileRewrite(route.rewrite)),
    named('rewrite regex', compileRewriteRegex(route.rewrite.regex)),
    named('rewrite add_prefix', compileAddPrefix(route.rewrite.addPrefix)),
  ].filter(isStep);
  const action = compileAction(route, services);
  return {
    name: route.name,
    config: route,
    guards: [defaults.guard, own.guard].filter((guard) => guard !== undefined),
    rateLimits: [...defaults.rateLimits, ...own.rateLimits],
    redirect: compileConditionalRedirect(route),
    action,
    steps: [...pathSteps, ...defaults.steps, ...own.steps],
    answerHeaders: chainHeaderEdits(stampRequestId, [defaults.responseStep, own.responseStep].filter((step) => step !== undefined)),
    rewritesPath: pathSteps.length > 0,
    maxBodyBytes: smallest(config.defaults.firewall.maxBodyBytes, route.firewall.maxBodyBytes),
    timeouts: action.kind === 'forward' ? { ...action.service.config.timeouts, ...route.timeouts } : NO_TIMEOUTS,
    allowsTrace: [route.methods, route.firewall.methods, config.defaults.firewall.methods].some((methods) => methods?.includes('TRACE')),
    allowedMethods: (route.methods ?? route.firewall.methods ?? config.defaults.firewall.methods ?? COMMON_METHODS).filter((m) => m !== 'TRACE').join(', '),
  };
}

const COMMON_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

function smallest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

const NO_TIMEOUTS: TimeoutsConfig = { connectMs: 0, responseHeadersMs: 0, idleMs: 0 };

function compileAction(route: RouteConfig, services: ReadonlyMap<string, Service>): CompiledAction {
  const { action } = route;
  if (action.kind === 'redirect') return { kind: 'redirect', redirect: compileRedirect(action) };
  if (action.kind === 'respond') {
    const headers = action.headers.flat();
    if (!action.headers.some(([name]) => name.toLowerCase() === 'content-type')) headers.push('content-type', 'text/plain; charset=utf-8');
    return { kind: 'respond', status: action.status, body: action.body, headers };
  }
  const service = services.get(action.service);
  // The loader has already checked that every route names a service.
  if (!service) throw new Error(`route ${route.name}: unknown service ${action.service}`);
  return { kind: 'forward', service };
}

function named(label: string, apply: RequestStep | undefined): NamedStep | undefined {
  return apply && { label, apply };
}

function isStep(step: NamedStep | undefined): step is NamedStep {
  return step !== undefined;
}
