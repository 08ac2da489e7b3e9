// Redirects a route answers with instead of forwarding: `https_redirect`,
// `canonical_host` (example.com to www.example.com) and `redirect` (every
// request, to a URL template).

import type { RouteConfig } from '../config/types.ts';
import { firstHeaderValue } from '../http/header-name.ts';
import { compileTemplate } from './template.ts';
import type { RequestContext } from './types.ts';

export interface Redirect {
  status: 301 | 302 | 307 | 308;
  location: string;
}

/** Decides whether a request is redirected rather than passed on; undefined: it passes. */
export type RedirectCheck = (ctx: RequestContext) => Redirect | undefined;

/**
 * https_redirect and canonical_host, as one check (one hop, not two, when
 * both apply). Permanent: 301 for GET and HEAD, 308 for other methods so
 * that the method and body are kept. https_redirect drops the port (https
 * is on 443); canonical_host keeps the port the client used. Undefined when
 * the route has neither.
 */
export function compileConditionalRedirect(route: Pick<RouteConfig, 'httpsRedirect' | 'canonicalHost'>): RedirectCheck | undefined {
  const { httpsRedirect, canonicalHost } = route;
  if (!httpsRedirect && canonicalHost === undefined) return undefined;
  return (ctx) => {
    const toHttps = httpsRedirect && ctx.scheme === 'http';
    const toCanonical = canonicalHost !== undefined && ctx.host !== canonicalHost;
    if (!toHttps && !toCanonical) return undefined;
    const host = toCanonical ? canonicalHost : ctx.host;
    const port = toHttps ? '' : portOf(ctx.rawHeaders);
    const scheme = toHttps ? 'https' : ctx.scheme;
    const status = ctx.method === 'GET' || ctx.method === 'HEAD' ? 301 : 308;
    return { status, location: `${scheme}://${host}${port}${requestUri(ctx)}` };
  };
}

/** A route's `redirect`: every request, to the expanded template. */
export function compileRedirect(rule: { status: Redirect['status']; to: string }): (ctx: RequestContext) => Redirect {
  const to = compileTemplate(rule.to);
  return (ctx) => ({ status: rule.status, location: to(ctx) });
}

function requestUri(ctx: RequestContext): string {
  return ctx.query === '' ? ctx.path : `${ctx.path}?${ctx.query}`;
}

/** ":8080" from the Host header, "" when it names no port. */
function portOf(raw: readonly string[]): string {
  const match = /:(\d+)$/.exec(firstHeaderValue(raw, 'host') ?? '');
  return match ? `:${match[1]}` : '';
}
