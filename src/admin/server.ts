// The admin HTTP server: a JSON API, Prometheus metrics, server-sent events
// and the dashboard page. It sees weir only through an AdminContext.
//
//   GET  /                                                the dashboard (no token needed; its API calls need one)
//   GET  /metrics                                         Prometheus text
//   GET  /api/status | /api/routes | /api/services        JSON
//   GET  /api/config                                      the running config's text (for `weir plan --admin`)
//   GET  /api/tls                                         TLS listeners: certificates, expiry, ACME state
//   GET  /api/explain?method=&url=&client_ip=&header=     text/plain, as `weir explain` prints it
//   GET  /api/events                                      server-sent events: a snapshot every second
//   POST /api/services/{service}/backends/{address}/drain | /enable
//   POST /api/reload
//
// Who may do what is in auth.ts. No CORS headers are ever sent, so no other
// origin's page can read an answer, and a request with a token forces a
// preflight that fails.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { formatAddress } from '../config/address.ts';
import { ConfigError, formatConfigIssue, type Address } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { isLoopbackHost } from '../config/loopback.ts';
import { acceptsHost, authorize, sameOrigin, type Access, type AuthPolicy } from './auth.ts';
import type { AdminContext, ExplainQuery } from './context.ts';
import { dashboardPage } from './dashboard.ts';
import { EventHub } from './events.ts';
import { backendView, routesView, servicesView, snapshotView, statusView } from './views.ts';

export interface AdminServer {
  /** Where it listens, with the real port when asked for port 0. */
  readonly address: Address;
  /** Ends the event streams, stops accepting and closes every connection. */
  close(): Promise<void>;
}

export interface AdminOptions {
  /** Event stream clients at once (default 20). */
  maxEventClients?: number;
  /** Time between event snapshots, ms (default 1000). */
  eventPeriodMs?: number;
}

/** Request bodies are never read; one larger than this is refused (413) and its connection closed. */
const MAX_BODY_BYTES = 64 * 1024;
/** Headers given to /api/explain at most. */
const MAX_EXPLAIN_HEADERS = 100;

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, params: string[]) => void | Promise<void>;

interface Endpoint {
  method: 'GET' | 'POST';
  pattern: RegExp;
  /** The dashboard page is public; everything else is 'read', 'secret' or 'change' (auth.ts). */
  access: Access | 'public';
  handle: Handler;
}

/**
 * Starts the admin server. Refuses (throws) to listen off loopback without a
 * token: it could drain every backend.
 */
export async function startAdmin(listen: Address, context: AdminContext, log: Logger, options: AdminOptions = {}): Promise<AdminServer> {
  const loopback = isLoopbackHost(listen.host);
  if (!loopback && context.token === undefined) {
    throw new Error(`admin.listen ${formatAddress(listen)} is not a loopback address; set admin.token, or listen on 127.0.0.1`);
  }
  const hub = new EventHub(() => snapshotView(context), log, { maxClients: options.maxEventClients, periodMs: options.eventPeriodMs });
  const page = dashboardPage();
  const endpoints = adminEndpoints(context, log, hub, page);

  const server = http.createServer({
    requestTimeout: 10_000,
    headersTimeout: 5_000,
    keepAliveTimeout: 5_000,
    maxHeaderSize: 16 * 1024,
    requireHostHeader: true,
  });
  server.maxConnections = 100;
  server.maxHeadersCount = 100;
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    void serve(req, res).catch((error: unknown) => {
      log.error({ err: error, url: req.url }, `admin: ${req.method} ${req.url} failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error; see the log' });
      else res.destroy();
    });
  });
  // Malformed requests: Node's own handling (400, 431, 408, then close) is right.

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!ignoreBody(req, res)) return;
    if (!acceptsHost(req.headers.host, loopback)) {
      sendJson(res, 403, { error: `Host ${JSON.stringify(req.headers.host ?? '')} is not a loopback name; this admin listener answers only to localhost, 127.0.0.1 or [::1]` });
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin');
    } catch {
      sendJson(res, 400, { error: 'malformed request target' });
      return;
    }
    const matching = endpoints.map((endpoint) => ({ endpoint, match: endpoint.pattern.exec(url.pathname) })).filter(({ match }) => match !== null);
    if (matching.length === 0) {
      sendJson(res, 404, { error: `no such endpoint: ${url.pathname}` });
      return;
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const found = matching.find(({ endpoint }) => endpoint.method === method);
    if (!found) {
      const allow = matching.map(({ endpoint }) => (endpoint.method === 'GET' ? 'GET, HEAD' : endpoint.method)).join(', ');
      sendJson(res, 405, { error: `${req.method} is not allowed here; use ${allow}` }, { allow });
      return;
    }
    const { endpoint, match } = found;
    if (endpoint.access === 'change' && !sameOrigin(header(req, 'origin'), req.headers.host)) {
      sendJson(res, 403, { error: 'a changing request from another origin is refused' });
      return;
    }
    if (endpoint.access !== 'public') {
      // Read per request: a context whose token follows the config picks up a new one on reload.
      const policy: AuthPolicy = { token: context.token, loopback };
      const verdict = authorize(endpoint.access, policy, req.headers.authorization);
      if (!verdict.ok) {
        sendJson(res, verdict.status, { error: verdict.error }, verdict.status === 401 ? { 'www-authenticate': 'Bearer realm="weir admin"' } : {});
        return;
      }
    }
    let params: string[];
    try {
      params = match!.slice(1).map((part) => decodeURIComponent(part));
    } catch {
      sendJson(res, 400, { error: 'malformed percent-encoding in the path' });
      return;
    }
    await endpoint.handle(req, res, url, params);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log.error({ err: error }, `admin server: ${error.message}`));
  const bound = server.address() as AddressInfo;
  const address: Address = { host: listen.host, port: bound.port };
  log.info({ admin: `http://${formatAddress(address)}`, token: context.token !== undefined }, `admin API and dashboard on http://${formatAddress(address)}`);

  let closing: Promise<void> | undefined;
  return {
    address,
    close() {
      closing ??= new Promise<void>((resolve) => {
        hub.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function adminEndpoints(context: AdminContext, log: Logger, hub: EventHub, page: { html: string; csp: string }): Endpoint[] {
  const backendAction = (action: 'drain' | 'enable'): Handler => (_req, res, _url, [service = '', address = '']) => {
    const known = action === 'drain' ? context.drain(service, address) : context.enable(service, address);
    const backend = known ? context.runtime().services.get(service)?.backends.find((candidate) => candidate.label === address) : undefined;
    if (!backend) {
      sendJson(res, 404, { error: `service ${JSON.stringify(service)} has no backend ${JSON.stringify(address)}` });
      return;
    }
    log.info({ service, backend: address, state: backend.state }, `admin: ${action === 'drain' ? 'drained' : 'enabled'} backend ${address} of service ${service}; now ${backend.state}`);
    sendJson(res, 200, { service, backend: backendView(backend, context.group) });
  };

  return [
    {
      method: 'GET',
      pattern: /^\/$/,
      access: 'public',
      handle: (_req, res) => {
        res.writeHead(200, {
          ...COMMON_HEADERS,
          'content-type': 'text/html; charset=utf-8',
          'content-length': Buffer.byteLength(page.html),
          'content-security-policy': page.csp,
          'x-frame-options': 'DENY',
        });
        res.end(page.html);
      },
    },
    {
      method: 'GET',
      pattern: /^\/metrics$/,
      access: 'read',
      handle: async (_req, res) => {
        const { contentType, text } = await context.metrics();
        sendText(res, 200, text, contentType);
      },
    },
    { method: 'GET', pattern: /^\/api\/status$/, access: 'read', handle: (_req, res) => sendJson(res, 200, statusView(context)) },
    {
      method: 'GET',
      pattern: /^\/api\/config$/,
      access: 'secret',
      handle: (_req, res) => sendText(res, 200, context.configText(), 'application/yaml; charset=utf-8'),
    },
    { method: 'GET', pattern: /^\/api\/tls$/, access: 'read', handle: (_req, res) => sendJson(res, 200, { listeners: context.tls() }) },
    { method: 'GET', pattern: /^\/api\/routes$/, access: 'read', handle: (_req, res) => sendJson(res, 200, { routes: routesView(context.runtime()) }) },
    { method: 'GET', pattern: /^\/api\/services$/, access: 'read', handle: (_req, res) => sendJson(res, 200, { services: servicesView(context.runtime(), context.group) }) },
    {
      method: 'GET',
      pattern: /^\/api\/explain$/,
      access: 'read',
      handle: async (_req, res, url) => {
        const query = explainQuery(url.searchParams);
        if (typeof query === 'string') {
          sendJson(res, 400, { error: query });
          return;
        }
        sendText(res, 200, `${await context.explain(query)}\n`, 'text/plain; charset=utf-8');
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/events$/,
      access: 'read',
      handle: (req, res) => {
        if (req.method === 'HEAD') {
          res.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'text/event-stream; charset=utf-8' }).end();
          return;
        }
        if (!hub.add(res)) sendJson(res, 503, { error: 'too many event stream clients; try again later' }, { 'retry-after': '5' });
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/reload$/,
      access: 'change',
      handle: async (_req, res) => {
        try {
          await context.reload();
        } catch (error) {
          if (error instanceof ConfigError) {
            log.warn({ issues: error.issues }, 'admin: reload refused, the config is invalid; nothing changed');
            sendJson(res, 400, { error: 'the config is invalid; nothing changed', issues: error.issues.map(formatConfigIssue) });
            return;
          }
          const message = error instanceof Error ? error.message : String(error);
          log.error({ err: error }, `admin: reload failed: ${message}`);
          sendJson(res, 500, { error: `reload failed: ${message}` });
          return;
        }
        sendJson(res, 200, { generation: context.generation() });
      },
    },
    { method: 'POST', pattern: /^\/api\/services\/([^/]+)\/backends\/([^/]+)\/drain$/, access: 'change', handle: backendAction('drain') },
    { method: 'POST', pattern: /^\/api\/services\/([^/]+)\/backends\/([^/]+)\/enable$/, access: 'change', handle: backendAction('enable') },
  ];
}

/** The explain request from ?method=&url=&client_ip=&header=Name:%20value, or what is wrong with it. */
export function explainQuery(params: URLSearchParams): ExplainQuery | string {
  const url = params.get('url');
  if (!url) return 'url is required, like ?url=http://example.com/path';
  const method = params.get('method') ?? 'GET';
  if (!/^[A-Za-z]{1,20}$/.test(method)) return `method ${JSON.stringify(method)} is not an HTTP method`;
  const clientIp = params.get('client_ip') ?? '127.0.0.1';
  if (isIP(clientIp) === 0) return `client_ip ${JSON.stringify(clientIp)} is not an IP address`;
  const given = params.getAll('header');
  if (given.length > MAX_EXPLAIN_HEADERS) return `at most ${MAX_EXPLAIN_HEADERS} headers`;
  const headers: Array<[string, string]> = [];
  for (const line of given) {
    const colon = line.indexOf(':');
    const name = colon === -1 ? '' : line.slice(0, colon).trim();
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return `header ${JSON.stringify(line)} is not "Name: value"`;
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  return { method, url, clientIp, headers };
}

/**
 * No endpoint reads a body: a small one is drained and ignored, a large one
 * is refused with 413 and its connection closed. False when refused.
 */
function ignoreBody(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const length = Number(req.headers['content-length'] ?? 0);
  if (!Number.isFinite(length) || length > MAX_BODY_BYTES) {
    // Node closes the connection after this answer rather than read the body.
    sendJson(res, 413, { error: `request bodies are ignored here, and more than ${MAX_BODY_BYTES} bytes are refused` }, { connection: 'close' });
    return false;
  }
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    // A chunked body has no length up front.
    if (seen > MAX_BODY_BYTES) req.destroy();
  });
  req.resume();
  return true;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, `${JSON.stringify(body, null, 2)}\n`, 'application/json; charset=utf-8', headers);
}

function sendText(res: http.ServerResponse, status: number, text: string, contentType: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
