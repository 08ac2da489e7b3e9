import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import type { Runtime } from '../runtime/compile.ts';
import type { PickContext } from '../upstream/balancers/index.ts';
import { planRequest, type ClientRequest } from '../runtime/plan-request.ts';
import { NO_BACKEND_BODY } from './errors.ts';
import { forward } from './forward.ts';
import { plainResponseBytes, respondPlain } from './respond.ts';
import type { Transport } from './transport.ts';
import { openTunnel } from './tunnel.ts';

export interface ProxyHandlers {
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/**
 * The edge between the HTTP server and weir's decisions: plan the request
 * (pure), pick a backend, then hand it to forward() or openTunnel() (I/O).
 * `currentRuntime` is read once per request, so a request finishes on the
 * runtime it started with even if a reload swaps it meanwhile.
 */
export function createProxyHandlers(currentRuntime: () => Runtime, transport: Transport, log: Logger): ProxyHandlers {
  function clientFacts(req: IncomingMessage, upgrade?: string): ClientRequest {
    return {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      rawHeaders: req.rawHeaders,
      clientIp: clientIp(req),
      protocol: 'http',
      upgrade,
    };
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    try {
      const plan = planRequest(currentRuntime(), clientFacts(req));
      if (plan.kind === 'refuse') {
        if (plan.status === 403) log.info({ status: 403, route: plan.route?.name, url: req.url, reason: plan.reason }, `403 ${req.method} ${req.url}: ${plan.reason}`);
        respondPlain(res, plan.status);
        return;
      }
      const { route } = plan;
      const context = pickContext(req, plan.context.normalizedPath, plan.context.clientIp);
      const job = { req, res, route, upstream: plan.upstream, hasBody: plan.hasBody, context, transport, log };
      const backend = route.service.pick(context);
      if (backend === 'none available') {
        log.warn({ status: 503, route: route.name, service: route.service.name, url: req.url }, `503 ${req.method} ${req.url}: no backend of service "${route.service.name}" is available`);
        respondPlain(res, 503, NO_BACKEND_BODY);
      } else if (backend === 'all busy') {
        void route.service.waitForRoom(context).then((freed) => {
          if (res.destroyed) return;
          if (freed) {
            forward(job, freed);
            return;
          }
          log.warn({ status: 503, route: route.name, service: route.service.name, url: req.url }, `503 ${req.method} ${req.url}: every backend of service "${route.service.name}" is at max_connections and the queue is full or timed out`);
          respondPlain(res, 503, undefined, ['retry-after', '1']);
        });
      } else {
        forward(job, backend);
      }
    } catch (error) {
      // A bug in weir must cost one request, never the process.
      log.error({ err: error, url: req.url }, `500 ${req.method} ${req.url}: internal error`);
      respondPlain(res, 500);
    }
  }


  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    try {
      const plan = planRequest(currentRuntime(), clientFacts(req, headerValue(req, 'upgrade')));
      if (plan.kind === 'refuse') {
        socket.end(plainResponseBytes(plan.status));
        return;
      }
      const { route } = plan;
      const backend = route.service.pick(pickContext(req, plan.context.normalizedPath, plan.context.clientIp));
      if (typeof backend === 'string') {
        // Tunnels do not wait in the queue: a WebSocket client retries by itself.
        log.warn({ status: 503, route: route.name, service: route.service.name, url: req.url }, `503 upgrade ${req.url}: service "${route.service.name}": ${backend}`);
        socket.end(plainResponseBytes(503, backend === 'none available' ? NO_BACKEND_BODY : undefined));
        return;
      }
      openTunnel({
        req,
        client: socket,
        head,
        route,
        upstream: plan.upstream,
        backend,
        connectTimeoutMs: route.timeouts.connectMs,
        log,
      });
    } catch (error) {
      log.error({ err: error, url: req.url }, `500 upgrade ${req.url}: internal error`);
      socket.end(plainResponseBytes(500));
    }
  }

  return { onRequest, onUpgrade };
}

function pickContext(req: IncomingMessage, path: string, clientIp: string): PickContext {
  return { clientIp, headers: req.rawHeaders, path, now: performance.now() };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The peer's address, with IPv4-mapped IPv6 ("::ffff:10.0.0.1") unwrapped so IPv4 rules apply. */
export function clientIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
