// What in a valid config deserves a second look, for `weir plan`: routes no
// request can reach, services nothing uses, services nobody checks, and
// retries of requests that are not safe to send twice. These are warnings,
// not issues: each can be meant.

import type { PathMatch, RouteConfig, WeirConfig } from '../config/types.ts';
import { normalizePath } from '../routing/normalize-path.ts';
import { compilePathPrefix } from '../routing/path-prefix.ts';
import { describeMatch } from './config-words.ts';

/** "warning: ..." lines: per route in file order, then per service in file order. */
export function configWarnings(config: WeirConfig): string[] {
  const warnings: string[] = [];
  config.routes.forEach((route, index) => {
    const shadow = shadowOf(config.routes, index);
    if (shadow !== undefined) {
      warnings.push(
        `warning: route "${route.name}" can never match: route "${shadow.name}" (${describeMatch(shadow, { anyMethod: true })}) is tried first and matches every request it would`,
      );
    }
    if (retriesUnsafeRequests(config, route)) {
      warnings.push(
        `warning: route "${route.name}" retries non-idempotent requests (retry_non_idempotent: true): a POST or PATCH the backend may have seen can be sent to another one`,
      );
    }
  });
  const used = new Set(config.routes.flatMap((route) => (route.action.kind === 'forward' ? [route.action.service] : [])));
  for (const [name, service] of config.services) {
    if (!used.has(name)) warnings.push(`warning: service "${name}" is not used by any route`);
    if (service.tls?.insecureSkipVerify) warnings.push(`warning: service "${name}" has tls.insecure_skip_verify: its servers' certificates are not verified`);
    if (service.healthCheck === undefined) {
      warnings.push(
        service.passiveHealth === undefined
          ? `warning: service "${name}" has no health_check and passive_health is off: a dead server keeps getting requests`
          : `warning: service "${name}" has no health_check: its servers are taken as up, and only failed requests (passive_health) take one out`,
      );
    }
  }
  return warnings;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** retry_non_idempotent on a route that forwards a method that is not idempotent to a service that retries. */
function retriesUnsafeRequests(config: WeirConfig, route: RouteConfig): boolean {
  if (!route.retryNonIdempotent || route.action.kind !== 'forward') return false;
  const attempts = config.services.get(route.action.service)?.retries.attempts ?? 0;
  const methods = route.methods ?? route.firewall.methods ?? config.defaults.firewall.methods;
  return attempts > 0 && (methods === undefined || methods.some((method) => !IDEMPOTENT.has(method)));
}

/**
 * The route the router tries before routes[index] that matches every
 * request routes[index] would match, if there is one. Only what can be
 * decided exactly is found, with the router's order (routing/router.ts):
 *
 * - routes for different host patterns never shadow each other: the router
 *   tries an exact host before wildcards and wildcards before "any host",
 *   and a pattern tried earlier covers fewer hosts;
 * - among routes of the same host pattern the order is exact path, regex,
 *   prefix (longer first), no path, then file order; an earlier route
 *   shadows a later one when its methods include all of the later one's
 *   and its path covers the later one's: no path or prefix "/" covers every
 *   path, a prefix covers a longer prefix or exact path under it, and a
 *   path covers the same path written the same way;
 * - two different regexes are never compared, and a route covered only by
 *   several routes together (a GET route and a POST route over a
 *   [GET, POST] one) is not found.
 */
function shadowOf(routes: readonly RouteConfig[], index: number): RouteConfig | undefined {
  const route = routes[index] as RouteConfig;
  const ours = rankOf(route, index);
  for (const [otherIndex, other] of routes.entries()) {
    if (otherIndex === index || other.host !== route.host) continue;
    if (compareRanks(rankOf(other, otherIndex), ours) >= 0) continue;
    if (methodsCover(other.methods, route.methods) && pathCovers(other.path, route.path)) return other;
  }
  return undefined;
}

interface Rank {
  path: number;
  length: number;
  fileOrder: number;
}

const PATH_RANK = { exact: 3, regex: 2, prefix: 1 } as const;

function rankOf(route: RouteConfig, fileOrder: number): Rank {
  const path = route.path;
  if (path === undefined) return { path: 0, length: 0, fileOrder };
  return { path: PATH_RANK[path.kind], length: path.kind === 'prefix' ? normalizePath(path.value).length : 0, fileOrder };
}

/** Negative when `a` is tried first. */
function compareRanks(a: Rank, b: Rank): number {
  return b.path - a.path || b.length - a.length || a.fileOrder - b.fileOrder;
}

function methodsCover(outer: readonly string[] | undefined, inner: readonly string[] | undefined): boolean {
  if (outer === undefined) return true;
  return inner !== undefined && inner.every((method) => outer.includes(method));
}

function pathCovers(outer: PathMatch | undefined, inner: PathMatch | undefined): boolean {
  if (outer === undefined) return true;
  if (outer.kind === 'prefix') {
    const prefix = normalizePath(outer.value);
    if (prefix === '/') return true;
    if (inner === undefined || inner.kind === 'regex') return false;
    // Every path under a prefix (or the exact path) starts with it on a segment boundary.
    return compilePathPrefix(prefix)(normalizePath(inner.value));
  }
  if (inner === undefined || inner.kind !== outer.kind) return false;
  return outer.kind === 'exact' ? normalizePath(outer.value) === normalizePath(inner.value) : outer.value === inner.value;
}
