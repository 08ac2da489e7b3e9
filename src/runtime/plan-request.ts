import type { RequestContext, UpstreamRequest } from '../middleware/types.ts';
import { readClientRequestHead } from '../proxy/request-head.ts';
import { hostFromHeader } from '../routing/host.ts';
import { normalizePath } from '../routing/normalize-path.ts';
import type { CompiledRoute, Runtime } from './compile.ts';

/** The facts about a client request that every decision is made from. */
export interface ClientRequest {
  method: string;
  /** The request target as sent: origin-form "/path?query" (absolute-form is accepted too). */
  url: string;
  /** Flat [name, value, ...] as sent. */
  rawHeaders: readonly string[];
  clientIp: string;
  protocol: 'http' | 'https';
  /** The Upgrade header's value on an upgrade request. */
  upgrade?: string | undefined;
}

export type RequestPlan =
  | { kind: 'refuse'; status: 400 | 403 | 404; reason: string; route?: CompiledRoute }
  | {
      kind: 'forward';
      route: CompiledRoute;
      /** Why this route matched, in words. */
      why: string;
      context: RequestContext;
      upstream: UpstreamRequest;
      hasBody: boolean;
    };

/**
 * Decides what happens to a request, without doing any I/O: the route, the
 * firewall verdict, and the request exactly as the backend will receive it.
 * The proxy carries the plan out; `weir explain` prints it.
 */
export function planRequest(runtime: Runtime, request: ClientRequest): RequestPlan {
  const target = splitTarget(request.url);
  if (!target) return { kind: 'refuse', status: 400, reason: `request target ${JSON.stringify(request.url)} is not a path` };
  const head = readClientRequestHead(request.rawHeaders, request);
  const context: RequestContext = {
    clientIp: request.clientIp,
    host: hostFromHeader(head.host),
    normalizedPath: normalizePath(target.path),
  };
  const match = runtime.router.match(context.host, context.normalizedPath, request.method);
  if (!match) return { kind: 'refuse', status: 404, reason: 'no route matches' };
  const route = match.value;
  const refusal = route.firewall?.(context);
  if (refusal !== undefined) return { kind: 'refuse', status: 403, reason: `firewall: ${refusal}`, route };

  const upstream: UpstreamRequest = {
    method: request.method,
    path: route.rewritesPath ? context.normalizedPath : target.path,
    query: target.query,
    headers: head.headers,
  };
  for (const step of route.steps) step(upstream, context);
  return { kind: 'forward', route, why: match.why, context, upstream, hasBody: head.hasBody };
}

function splitTarget(url: string): { path: string; query: string } | undefined {
  let rest = url;
  if (!url.startsWith('/')) {
    // Absolute-form ("http://host/path"), which clients send to proxies.
    const match = /^https?:\/\/[^/?#]*/i.exec(url);
    if (!match) return undefined;
    rest = url.slice(match[0].length) || '/';
    if (!rest.startsWith('/')) rest = `/${rest}`;
  }
  const q = rest.indexOf('?');
  return q === -1 ? { path: rest, query: '' } : { path: rest.slice(0, q), query: rest.slice(q + 1) };
}

/** The path and query as sent on the request line to the backend. */
export function upstreamTarget(upstream: UpstreamRequest): string {
  return upstream.query ? `${upstream.path}?${upstream.query}` : upstream.path;
}
