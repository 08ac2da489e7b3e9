// Picks the route for a request. Routes are ranked once, when the router is
// built, so a lookup walks an already-ordered list and stops at the first
// route that fits; routes for other exact hosts are never looked at.

import type { PathMatch } from '../config/types.ts';
import { normalizePath } from './normalize-path.ts';
import { compilePathPrefix } from './path-prefix.ts';

export interface RouteEntry<T> {
  /** Lower-case host, "www.example.com" or "*.example.com"; undefined matches any host. */
  host?: string;
  /** Undefined matches every path. */
  path?: PathMatch;
  /** Upper-case methods; undefined allows every method. */
  methods?: string[];
  value: T;
}

export interface RouteMatch<T> {
  value: T;
  /** Why this route was chosen, for `weir explain`: 'host "www.mango.com" (exact), path prefix "/mango"'. */
  why: string;
}

export interface Router<T> {
  /** host as from hostFromHeader, normalizedPath as from normalizePath, method as the client sent it. */
  match(host: string, normalizedPath: string, method: string): RouteMatch<T> | undefined;
}

interface CompiledRoute<T> {
  result: RouteMatch<T>;
  matchesPath: (path: string) => boolean;
  methods: Set<string> | undefined;
  /** Higher wins among routes of the same host rank. */
  pathRank: number;
  /** Prefix length, to let a longer prefix beat a shorter one. */
  pathLength: number;
  fileOrder: number;
}

const PATH_RANK_NONE = 0;
const PATH_RANK_PREFIX = 1;
const PATH_RANK_REGEX = 2;
const PATH_RANK_EXACT = 3;

/**
 * Builds a router over routes given in file order.
 *
 * Priority: compare by host first — an exact host beats a wildcard, a longer
 * wildcard suffix beats a shorter one, any host beats no host; then by path —
 * exact beats regex, regex beats prefix, a longer prefix beats a shorter one,
 * any path beats no path; then file order.
 *
 * A route whose methods do not include the request method is skipped and the
 * search goes on. "*.example.com" matches "a.example.com" and
 * "a.b.example.com" but not "example.com". Prefixes match on segment
 * boundaries ("/api" matches "/api" and "/api/x", not "/apix"); a regex is
 * tested against the whole normalized path and matches anywhere in it unless
 * it is anchored with ^ and $. Exact and prefix paths are normalized like
 * request paths, so "/%7Euser" in the config means "/~user".
 */
export function createRouter<T>(entries: RouteEntry<T>[]): Router<T> {
  const exactHosts = new Map<string, CompiledRoute<T>[]>();
  // Keyed by the suffix with its leading dot: "*.example.com" → ".example.com".
  const wildcardHosts = new Map<string, CompiledRoute<T>[]>();
  const anyHost: CompiledRoute<T>[] = [];

  entries.forEach((entry, fileOrder) => {
    const host = entry.host?.toLowerCase();
    const route = compileRoute(entry, fileOrder, host);
    if (!host) {
      anyHost.push(route);
    } else if (host.startsWith('*.')) {
      addTo(wildcardHosts, host.slice(1), route);
    } else {
      addTo(exactHosts, host, route);
    }
  });
  for (const routes of exactHosts.values()) routes.sort(byPathPriority);
  for (const routes of wildcardHosts.values()) routes.sort(byPathPriority);
  anyHost.sort(byPathPriority);

  return {
    match(host, normalizedPath, method) {
      const exact = exactHosts.get(host);
      if (exact !== undefined) {
        const found = firstFit(exact, normalizedPath, method);
        if (found !== undefined) return found;
      }
      if (wildcardHosts.size > 0) {
        // Walking the dots left to right tries the longest suffix first. The
        // search starts at index 1 so the first label is never empty: a
        // wildcard needs at least one label in front of its suffix.
        for (let dot = host.indexOf('.', 1); dot !== -1; dot = host.indexOf('.', dot + 1)) {
          const routes = wildcardHosts.get(host.slice(dot));
          if (routes === undefined) continue;
          const found = firstFit(routes, normalizedPath, method);
          if (found !== undefined) return found;
        }
      }
      return firstFit(anyHost, normalizedPath, method);
    },
  };
}

function compileRoute<T>(entry: RouteEntry<T>, fileOrder: number, host: string | undefined): CompiledRoute<T> {
  const hostWhy = !host
    ? 'any host'
    : host.startsWith('*.')
      ? `host "${host}" (wildcard)`
      : `host "${host}" (exact)`;
  const methodsWhy = entry.methods ? `, methods ${entry.methods.join(' ')}` : '';
  const path = describePath(entry.path);
  return {
    // One frozen result per route, so a match allocates nothing.
    result: Object.freeze({ value: entry.value, why: `${hostWhy}, ${path.why}${methodsWhy}` }),
    matchesPath: path.matches,
    methods: entry.methods ? new Set(entry.methods) : undefined,
    pathRank: path.rank,
    pathLength: path.length,
    fileOrder,
  };
}

function describePath(path: PathMatch | undefined): {
  matches: (path: string) => boolean;
  rank: number;
  length: number;
  why: string;
} {
  if (path === undefined) {
    return { matches: () => true, rank: PATH_RANK_NONE, length: 0, why: 'any path' };
  }
  switch (path.kind) {
    case 'exact': {
      const exact = normalizePath(path.value);
      return { matches: (p) => p === exact, rank: PATH_RANK_EXACT, length: 0, why: `path exact "${path.value}"` };
    }
    case 'regex': {
      const regex = new RegExp(path.value);
      return { matches: (p) => regex.test(p), rank: PATH_RANK_REGEX, length: 0, why: `path regex "${path.value}"` };
    }
    case 'prefix': {
      const prefix = normalizePath(path.value);
      return {
        matches: compilePathPrefix(prefix),
        rank: PATH_RANK_PREFIX,
        length: prefix.length,
        why: `path prefix "${path.value}"`,
      };
    }
  }
}

function byPathPriority<T>(a: CompiledRoute<T>, b: CompiledRoute<T>): number {
  return b.pathRank - a.pathRank || b.pathLength - a.pathLength || a.fileOrder - b.fileOrder;
}

function firstFit<T>(routes: CompiledRoute<T>[], path: string, method: string): RouteMatch<T> | undefined {
  for (const route of routes) {
    if (route.methods !== undefined && !route.methods.has(method)) continue;
    if (route.matchesPath(path)) return route.result;
  }
  return undefined;
}

function addTo<T>(map: Map<string, CompiledRoute<T>[]>, key: string, route: CompiledRoute<T>): void {
  const routes = map.get(key);
  if (routes === undefined) map.set(key, [route]);
  else routes.push(route);
}
