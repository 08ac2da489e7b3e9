// Parts of a config in words, for `weir plan`: one short, stable phrase per
// value, so that a change reads "before → after" and lines can be grepped.

import type { PathMatch, RouteAction, RouteConfig } from '../config/types.ts';

/** "any host, path prefix /api, methods GET, POST" (methods left out when `anyMethod` is false and there are none). */
export function describeMatch(route: Pick<RouteConfig, 'host' | 'path' | 'methods'>, options: { anyMethod: boolean }): string {
  const parts = [route.host === undefined ? 'any host' : `host ${route.host}`, describePath(route.path)];
  if (route.methods !== undefined) parts.push(`methods ${route.methods.join(', ')}`);
  else if (options.anyMethod) parts.push('any method');
  return parts.join(', ');
}

export function describePath(path: PathMatch | undefined): string {
  return path === undefined ? 'any path' : `path ${path.kind} ${path.value}`;
}

/** "service api", "redirect 308 https://...", "respond 503, 6 bytes". */
export function describeAction(action: RouteAction): string {
  switch (action.kind) {
    case 'forward':
      return `service ${action.service}`;
    case 'redirect':
      return `redirect ${action.status} ${action.to}`;
    case 'respond':
      return `respond ${describeRespond(action)}`;
  }
}

export function describeRespond(action: Extract<RouteAction, { kind: 'respond' }>): string {
  const headers = action.headers.length === 0 ? '' : `, headers ${action.headers.map(([name, value]) => `${name}: ${value}`).join('; ')}`;
  return `${action.status}, ${Buffer.byteLength(action.body)} bytes${headers}`;
}

/** The largest unit that says it exactly: 300000 → "5m", 1500 → "1500ms". */
export function formatMs(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
