// The pure phases of a request: everything weir decides before any I/O.
// Each phase has one job and may end the request with a failure:
//
//   client   is the head well formed (400, 505), and who is the client
//            (behind trusted proxies), the request id, the forwarding headers;
//   route    which route takes it (404 when none does);
//   guard    the firewall of `defaults` and of the route, and TRACE (403,
//            405, 413, 414, 431);
//   rewrite  a redirect or an answer of weir's own, or the request exactly
//            as the backend will receive it, every rule applied.
//
// The driver (driver.ts) runs these, then the phases that need I/O: rate
// limits, picking a backend, the upstream request and the response.
// `weir explain` runs them too, so what it prints is what happens.

import { clientFailure, type Failure } from '../failure.ts';
import { checkRequestHead } from '../http/request-checks.ts';
import { appendForwardingHeaders, readClientRequestHead, type ClientRequestHead } from '../http/request-head.ts';
import { splitTarget } from '../http/request-target.ts';
import type { Redirect } from '../middleware/redirect.ts';
import { keepOrMakeRequestId } from '../middleware/request-id.ts';
import type { RequestContext, UpstreamRequest } from '../middleware/types.ts';
import { clientAddressBehindProxies } from '../net/forwarded-for.ts';
import { hostFromHeader } from '../routing/host.ts';
import { normalizePath } from '../routing/normalize-path.ts';
import type { Service } from '../upstream/service.ts';
import type { CompiledRoute, Runtime } from './compile.ts';

/** The facts about a client request that every decision is made from. */
export interface ClientRequest {
  method: string;
  /** The request target as sent: origin-form "/path?query" (absolute-form is accepted too). */
  url: string;
  /** Default 1.1. */
  httpVersionMajor?: number;
  httpVersionMinor?: number;
  /** Flat [name, value, ...] as sent. */
  rawHeaders: readonly string[];
  /** The connection's peer address, IPv4-mapped IPv6 unwrapped. */
  peer: string;
  /** The source address a PROXY protocol header declared, when the listener takes them. */
  proxySource?: string | undefined;
  /** The client reached weir over TLS: the scheme is https (unless a trusted proxy says otherwise). */
  secure?: boolean | undefined;
  /**
   * The request came as an HTTP/2 stream (httpVersionMajor 2): method,
   * target and authority came from pseudo-headers, and `hasBody` says
   * whether a body follows.
   */
  http2?: boolean | undefined;
  /** HTTP/2's :authority, when sent (rawHeaders then hold a Host made from it if there was none). */
  authority?: string | undefined;
  /**
   * Whether a body follows, when the protocol says so itself: on HTTP/2,
   * unless the HEADERS frame ended the stream. Undefined on HTTP/1, where
   * Content-Length and Transfer-Encoding say it.
   */
  hasBody?: boolean | undefined;
}

/** A request weir answers with a failure, and the route's context when it got that far. */
export interface Refused {
  kind: 'refuse';
  failure: Failure;
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

/** Runs the pure phases in order; the first that ends the request decides. */
export function planRequest(runtime: Runtime, request: ClientRequest, observe?: StepObserver): RequestPlan {
  const client = clientPhase(runtime, request);
  if (client.kind === 'refuse') return client;
  const { context, head } = client;
  const routed = routePhase(runtime, context);
  if (routed.kind === 'refuse') return routed;
  const refusal = guardPhase(routed.route, context);
  if (refusal) return refusal;
  return rewritePhase(routed.route, routed.why, context, head, observe);
}

interface Identified {
  kind: 'client';
  context: RequestContext;
  head: ClientRequestHead;
}

/**
 * client: refuses a malformed head (what Node's parser let through), then
 * decides who the client is. The PROXY header's source stands in for the
 * peer only when the peer is one of ours; X-Forwarded-* are believed only
 * when the (stand-in) peer is. Writes the forwarding headers.
 */
export function clientPhase(runtime: Runtime, request: ClientRequest): Identified | Refused {
  const problem = checkRequestHead({
    method: request.method,
    url: request.url,
    httpVersionMajor: request.httpVersionMajor ?? 1,
    httpVersionMinor: request.httpVersionMinor ?? 1,
    rawHeaders: request.rawHeaders,
    http2: request.http2,
    authority: request.authority,
  });
  if (problem) return { kind: 'refuse', failure: clientFailure(problem.status, problem.reason, { closeConnection: true }) };
  const target = splitTarget(request.url);
  if (!target) return { kind: 'refuse', failure: clientFailure(400, `request target ${JSON.stringify(request.url)} is not a path`, { closeConnection: true }) };

  const requestIdHeader = runtime.requestIdHeader;
  const head = readClientRequestHead(request.rawHeaders, requestIdHeader?.lower, request.http2 ? '2' : '1.1');
  if (request.hasBody !== undefined) head.hasBody = request.hasBody;
  const trusted = runtime.trustedProxies;
  const hop = request.proxySource !== undefined && trusted?.has(request.peer) ? request.proxySource : request.peer;
  const hopTrusted = trusted?.has(hop) ?? false;
  const clientIp = hopTrusted && trusted ? clientAddressBehindProxies(hop, [head.forwardedFor], trusted) : hop;
  const scheme = hopTrusted && (head.forwardedProto === 'https' || head.forwardedProto === 'http') ? head.forwardedProto : request.secure ? 'https' : 'http';
  const requestId = requestIdHeader ? keepOrMakeRequestId(head.requestId) : '';
  appendForwardingHeaders(head, request.rawHeaders, {
    hop,
    trusted: hopTrusted,
    scheme,
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
  return { kind: 'client', context, head };
}

/** route: the most specific route for the host, path and method (404 when none). */
export function routePhase(runtime: Runtime, context: RequestContext): { kind: 'routed'; route: CompiledRoute; why: string } | Refused {
  const match = runtime.router.match(context.host, context.normalizedPath, context.method);
  if (!match) return { kind: 'refuse', failure: { owner: 'config', status: 404, reason: 'no route matches' }, context };
  context.routeName = match.value.name;
  return { kind: 'routed', route: match.value, why: match.why };
}

/**
 * guard: the firewalls, `defaults` first, and TRACE. TRACE echoes the
 * request back, cookies and credentials included, so it is refused (as
 * nginx does) unless the route lists it in `methods`.
 */
export function guardPhase(route: CompiledRoute, context: RequestContext): Refused | undefined {
  for (const guard of route.guards) {
    const refusal = guard(context);
    if (refusal !== undefined) {
      const rule = refusal.rule;
      const failure = clientFailure(refusal.status, `firewall: ${rule}`, { rule, headers: refusal.headers, closeConnection: refusal.status === 413 });
      return { kind: 'refuse', failure, route, context };
    }
  }
  if (context.method === 'TRACE' && !route.allowsTrace) {
    const failure = clientFailure(405, 'TRACE is not allowed on this route (list it in the route\'s methods to allow it)', { headers: ['allow', route.allowedMethods] });
    return { kind: 'refuse', failure, route, context };
  }
  return undefined;
}

/** rewrite: a redirect, an answer of weir's own, or the upstream request with every step applied. */
export function rewritePhase(route: CompiledRoute, why: string, context: RequestContext, head: ClientRequestHead, observe?: StepObserver): RequestPlan {
  const { action } = route;
  const redirectTo = (redirect: Redirect): RequestPlan => ({ kind: 'redirect', route, context, status: redirect.status, location: redirect.location });
  if (action.kind === 'redirect') return redirectTo(action.redirect(context));
  const redirect = route.redirect?.(context);
  if (redirect) return redirectTo(redirect);
  if (action.kind === 'respond') return { kind: 'respond', route, context, status: action.status, body: action.body, headers: action.headers };

  const upstream: UpstreamRequest = {
    method: context.method,
    path: route.rewritesPath ? context.normalizedPath : context.path,
    query: context.query,
    headers: head.headers,
  };
  observe?.('received', upstream);
  for (const step of route.steps) {
    step.apply(upstream, context);
    observe?.(step.label, upstream);
  }
  return { kind: 'forward', route, service: action.service, why, context, upstream, hasBody: head.hasBody };
}
