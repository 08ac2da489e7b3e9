import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import type { HeaderEdit } from '../middleware/headers.ts';
import type { RequestContext } from '../middleware/types.ts';
import { checkRateLimits, type RateVerdict } from '../ratelimit/rate-limit.ts';
import type { Runtime } from '../runtime/compile.ts';
import { planRequest, type ClientRequest, type Refused, type RequestPlan } from '../runtime/plan-request.ts';
import { proxySource } from '../server/http-listener.ts';
import type { PickContext } from '../upstream/balancers/index.ts';
import { NO_BACKEND_BODY } from './errors.ts';
import { forward } from './forward.ts';
import type { RefusalCounter } from './refusals.ts';
import { plainResponseBytes, respond, respondPlain, responseBytes } from '../http/respond.ts';
import type { Transport } from './transport.ts';
import { openTunnel } from './tunnel.ts';

export interface ProxyHandlers {
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** A plan that got past routing and the firewall; rate limits decide next. */
type Admitted = Exclude<RequestPlan, Refused>;

/**
 * The edge between the HTTP server and weir's decisions: plan the request
 * (pure), check its rate limits (I/O when the store is Redis), then answer
 * it, redirect it, or pick a backend and hand it to forward() or
 * openTunnel(). `currentRuntime` is read once per request, so a request
 * finishes on the runtime it started with even if a reload swaps it.
 */
export function createProxyHandlers(currentRuntime: () => Runtime, transport: Transport, log: Logger, refusals: RefusalCounter): ProxyHandlers {
  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    try {
      const runtime = currentRuntime();
      const plan = planRequest(runtime, clientFacts(req));
      if (plan.kind === 'refuse') {
        refuse(plan, runtime, req, (status, headers, body) => respondPlain(res, status, body, headers));
        return;
      }
      afterRateLimits(plan, req, (verdict) => {
        // While Redis was asked, the client may have gone.
        if (res.destroyed) return;
        if (verdict.kind !== 'pass') {
          refuse(rateLimited(verdict, plan), runtime, req, (status, headers, body) => respondPlain(res, status, body, headers));
          return;
        }
        if (plan.kind === 'forward') pickAndForward(plan, runtime, req, res);
        else if (plan.kind === 'redirect') {
          respondPlain(res, plan.status, `Redirecting to ${plan.location}`, withHeaders(plan.route.answerHeaders, plan.context, ['location', plan.location]));
        } else respond(res, plan.status, withHeaders(plan.route.answerHeaders, plan.context, plan.headers), plan.body);
      });
    } catch (error) {
      internalError(error, req, () => respondPlain(res, 500));
    }
  }

  function pickAndForward(plan: Extract<RequestPlan, { kind: 'forward' }>, runtime: Runtime, req: IncomingMessage, res: ServerResponse): void {
    const { route, service } = plan;
    const context = pickContext(req, plan.context);
    const job = { req, res, route, service, request: plan.context, upstream: plan.upstream, hasBody: plan.hasBody, context, transport, log };
    const backend = service.pick(context);
    if (backend === 'none available') {
      log.warn({ status: 503, route: route.name, service: service.name, url: req.url }, `503 ${req.method} ${req.url}: no backend of service "${service.name}" is available`);
      respondPlain(res, 503, NO_BACKEND_BODY, withHeaders(runtime.stampRequestId, plan.context, []));
    } else if (backend === 'all busy') {
      void service.waitForRoom(context).then((freed) => {
        if (res.destroyed) return;
        if (freed) {
          forward(job, freed);
          return;
        }
        log.warn({ status: 503, route: route.name, service: service.name, url: req.url }, `503 ${req.method} ${req.url}: every backend of service "${service.name}" is at max_connections and the queue is full or timed out`);
        respondPlain(res, 503, undefined, withHeaders(runtime.stampRequestId, plan.context, ['retry-after', '1']));
      });
    } else {
      forward(job, backend);
    }
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const answer = (status: number, headers: readonly string[], body?: string): void => {
      socket.end(plainResponseBytes(status, body, headers));
    };
    try {
      const runtime = currentRuntime();
      const plan = planRequest(runtime, clientFacts(req, headerValue(req, 'upgrade')));
      if (plan.kind === 'refuse') {
        refuse(plan, runtime, req, answer);
        return;
      }
      afterRateLimits(plan, req, (verdict) => {
        if (socket.destroyed) return;
        if (verdict.kind !== 'pass') refuse(rateLimited(verdict, plan), runtime, req, answer);
        else if (plan.kind === 'redirect') answer(plan.status, withHeaders(plan.route.answerHeaders, plan.context, ['location', plan.location]));
        else if (plan.kind === 'respond') socket.end(responseBytes(plan.status, withHeaders(plan.route.answerHeaders, plan.context, plan.headers), plan.body));
        else tunnel(plan, req, socket, head);
      });
    } catch (error) {
      internalError(error, req, () => socket.end(plainResponseBytes(500)));
    }
  }

  function tunnel(plan: Extract<RequestPlan, { kind: 'forward' }>, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { route, service } = plan;
    const backend = service.pick(pickContext(req, plan.context));
    if (typeof backend === 'string') {
      // Tunnels do not wait in the queue: a WebSocket client retries by itself.
      log.warn({ status: 503, route: route.name, service: service.name, url: req.url }, `503 upgrade ${req.url}: service "${service.name}": ${backend}`);
      socket.end(plainResponseBytes(503, backend === 'none available' ? NO_BACKEND_BODY : undefined));
      return;
    }
    openTunnel({ req, client: socket, head, route, service, upstream: plan.upstream, backend, connectTimeoutMs: route.timeouts.connectMs, log });
  }

  /** Runs `then` with the rate limits' verdict: at once when every limit is local, later when one asks Redis. */
  function afterRateLimits(plan: Admitted, req: IncomingMessage, then: (verdict: RateVerdict) => void): void {
    const { route, context } = plan;
    if (route.rateLimits.length === 0) {
      then(PASS);
      return;
    }
    const verdict = checkRateLimits(route.rateLimits, { clientIp: context.clientIp, rawHeaders: context.rawHeaders, routeName: route.name });
    if (!(verdict instanceof Promise)) {
      then(verdict);
      return;
    }
    verdict.then(then).catch((error: unknown) => internalError(error, req, () => req.socket.destroy()));
  }

  /** Answers a refusal; a rule's refusal is logged in one line naming the rule, and counted. */
  function refuse(plan: Refused, runtime: Runtime, req: IncomingMessage, answer: (status: number, headers: readonly string[], body?: string) => void): void {
    const headers = plan.context ? withHeaders(runtime.stampRequestId, plan.context, plan.headers ?? []) : [...(plan.headers ?? [])];
    if (plan.status !== 404 && plan.status !== 400) {
      refusals.count(plan.reason);
      const level = plan.status === 503 ? 'warn' : 'info';
      log[level]({ status: plan.status, route: plan.route?.name, client: plan.context?.clientIp, url: req.url, reason: plan.reason }, `${plan.status} ${req.method} ${req.url}: ${plan.reason}`);
    }
    answer(plan.status, headers, plan.status === 503 ? 'Rate limit store unavailable.' : undefined);
  }

  function internalError(error: unknown, req: IncomingMessage, answer: () => void): void {
    // A bug in weir must cost one request, never the process.
    log.error({ err: error, url: req.url }, `500 ${req.method} ${req.url}: internal error`);
    answer();
  }

  return { onRequest, onUpgrade };
}

const PASS: RateVerdict = { kind: 'pass' };

/** A rate limit's refusal in the shape of the firewall's. */
function rateLimited(verdict: Exclude<RateVerdict, { kind: 'pass' }>, plan: Admitted): Refused {
  if (verdict.kind === 'store-unavailable') {
    return { kind: 'refuse', status: 503, reason: `rate_limit ${verdict.limitId}: store unreachable and on_store_error is deny`, headers: ['retry-after', '1'], route: plan.route, context: plan.context };
  }
  return { kind: 'refuse', status: 429, reason: `rate_limit ${verdict.limitId}`, headers: verdict.headers, route: plan.route, context: plan.context };
}

/** `base` followed by what `edit` adds for this request. */
function withHeaders(edit: HeaderEdit, context: RequestContext, base: readonly string[]): string[] {
  const headers = [...base];
  edit(headers, context);
  return headers;
}

function clientFacts(req: IncomingMessage, upgrade?: string): ClientRequest {
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    rawHeaders: req.rawHeaders,
    peer: unmapped(req.socket.remoteAddress ?? ''),
    proxySource: proxiedAddress(req.socket),
    upgrade,
  };
}

function proxiedAddress(socket: Socket): string | undefined {
  const source = proxySource(socket);
  return source && unmapped(source.address);
}

function pickContext(req: IncomingMessage, context: RequestContext): PickContext {
  return { clientIp: context.clientIp, headers: req.rawHeaders, path: context.normalizedPath, now: performance.now() };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** IPv4-mapped IPv6 ("::ffff:10.0.0.1") unwrapped, so IPv4 rules apply. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
