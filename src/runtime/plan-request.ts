import type { Redirect } from '../middleware/redirect.ts';
import { keepOrMakeRequestId } from '../middleware/request-id.ts';
import type { Refusal, RequestContext, UpstreamRequest } from '../middleware/types.ts';
import { clientAddressBehindProxies } from '../net/forwarded-for.ts';
import { appendForwardingHeaders, readClientRequestHead } from '../http/request-head.ts';
import { hostFromHeader } from '../routing/host.ts';
import { normalizePath } from '../routing/normalize-path.ts';
import { splitTarget } from '../http/request-target.ts';
import type { Service } from '../upstream/service.ts';
import type { CompiledRoute, Runtime } from './compile.ts';

/** The facts about a client request that every decision is made from. */
export interface ClientRequest {
  method: string;
  /** The request target as sent: origin-form "/path?query" (absolute-form is accepted too). */
  url: string;
  /** Flat [name, value, ...] as sent. */
  rawHeaders: readonly string[];
  /** The connection's peer address, IPv4-mapped IPv6 unwrapped. */
  peer: string;
  /** The source address a PROXY protocol header declared, when the listener takes them. */
  proxySource?: string | undefined;
  /** The Upgrade header's value on an upgrade request. */
  upgrade?: string | undefined;
}

/** A request weir answers itself, and the route's context when it got that far. */
export interface Refused {
  kind: 'refuse';
  status: 400 | 404 | 429 | 503 | Refusal['status'];
  reason: string;
  headers?: readonly string[] | undefined;
  route?: CompiledRoute;
  context?: RequestContext;
}

export type RequestPlan =
  | Refused
  | { kind: 'redirect'; route: CompiledRoute; context: RequestContext; status: number; location: string }
  | { kind: 'respond'; route: CompiledRoute; context: RequestContext; status: number; body: string; headers: readonly string[] }
  | {
      kind: 'forward';
      route: CompiledRoute;
      service: Service;
      /** Why this route matched, in words. */
      why: string;
      context: RequestContext;
      upstream: UpstreamRequest;
      hasBody: boolean;
    };

/** Sees the upstream request as received ("received") and after each step (the step's label); for `weir explain`. */
export type StepObserver = (label: string, upstream: UpstreamRequest) => void;

/**
 * Decides what happens to a request, without doing any I/O: who the client
 * is, the route, the firewall verdict, a redirect or answer of weir's own,
 * or the request exactly as the backend will receive it. Rate limits are
 * the one check left to the caller, since a shared store means I/O. The
 * proxy carries the plan out; `weir explain` prints it.
 */
export function planRequest(runtime: Runtime, request: ClientRequest, observe?: StepObserver): RequestPlan {
  const target = splitTarget(request.url);
  if (!target) return { kind: 'refuse', status: 400, reason: `request target ${JSON.stringify(request.url)} is not a path` };
  const requestIdHeader = runtime.requestIdHeader;
  const head = readClientRequestHead(request.rawHeaders, requestIdHeader?.lower);

  // The PROXY header's source stands in for the peer only when the peer is
  // one of ours; X-Forwarded-* only when the (stand-in) peer is.
  const trusted = runtime.trustedProxies;
  const hop = request.proxySource !== undefined && trusted?.has(request.peer) ? request.proxySource : request.peer;
  const hopTrusted = trusted?.has(hop) ?? false;
  const clientIp = hopTrusted && trusted ? clientAddressBehindProxies(hop, [head.forwardedFor], trusted) : hop;
  const scheme = hopTrusted && (head.forwardedProto === 'https' || head.forwardedProto === 'http') ? head.forwardedProto : 'http';
  const requestId = requestIdHeader ? keepOrMakeRequestId(head.requestId) : '';
  appendForwardingHeaders(head, request.rawHeaders, {
    hop,
    trusted: hopTrusted,
    scheme,
    upgrade: request.upgrade,
    requestId: requestIdHeader && { header: requestIdHeader.name, value: requestId },
  });

  const context: RequestContext = {
    clientIp,
    remoteAddr: request.peer,
    host: hostFromHeader(head.host),
    normalizedPath: normalizePath(target.path),
    path: target.path,
    query: target.query,
    method: request.method,
    scheme,
    requestId,
    routeName: '',
    rawHeaders: request.rawHeaders,
    contentLength: head.contentLength,
  };
  const match = runtime.router.match(context.host, context.normalizedPath, request.method);
  if (!match) return { kind: 'refuse', status: 404, reason: 'no route matches', context };
  const route = match.value;
  context.routeName = route.name;
  for (const guard of route.guards) {
    const refusal = guard(context);
    if (refusal !== undefined) return { kind: 'refuse', status: refusal.status, reason: `firewall: ${refusal.rule}`, headers: refusal.headers, route, context };
  }

  const { action } = route;
  const redirectTo = (redirect: Redirect): RequestPlan => ({ kind: 'redirect', route, context, status: redirect.status, location: redirect.location });
  if (action.kind === 'redirect') return redirectTo(action.redirect(context));
  const redirect = route.redirect?.(context);
  if (redirect) return redirectTo(redirect);
  if (action.kind === 'respond') return { kind: 'respond', route, context, status: action.status, body: action.body, headers: action.headers };

  const upstream: UpstreamRequest = {
    method: request.method,
    path: route.rewritesPath ? context.normalizedPath : target.path,
    query: target.query,
    headers: head.headers,
  };
  observe?.('received', upstream);
  for (const step of route.steps) {
    step.apply(upstream, context);
    observe?.(step.label, upstream);
  }
  return { kind: 'forward', route, service: action.service, why: match.why, context, upstream, hasBody: head.hasBody };
}
