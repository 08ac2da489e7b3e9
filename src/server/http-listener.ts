import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Address } from '../config/types.ts';
import { SocketAnswer, type ClientAnswer } from '../http/client-answer.ts';
import { plainResponseBytes } from '../http/respond.ts';
import type { Logger } from '../log.ts';
import type { IncomingRequest } from '../runtime/driver.ts';
import { ClientConnection } from './client-connection.ts';
import { parseProxyHeader, type ProxySource } from './proxy-protocol.ts';

/** Whoever serves the requests a listener accepts: the driver. */
export interface RequestServer {
  serve(request: IncomingRequest, answer: ClientAnswer): void;
}

/** What a listener enforces on its clients; a reload may change all of it. */
export interface ClientSettings {
  /** Open client connections at once; beyond it a new connection is closed at once. */
  maxConnections: number;
  /** Requests a client may send ahead on one connection while one is being served. */
  pipelinedRequests: number;
  /** The whole request head must arrive within this (408). */
  headerTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveMs: number;
}

/** A listening HTTP server that knows how to stop gracefully. */
export interface HttpListener {
  readonly address: Address;
  /** Applies new client settings to the running listener (a reload). */
  configure(settings: ClientSettings): void;
  /** Client connections open now. */
  connections(): number;
  /** Stops accepting, lets in-flight requests finish until the deadline, then closes every connection. */
  drain(deadlineMs: number): Promise<void>;
}

export interface ListenOptions {
  /**
   * Every connection must open with a PROXY protocol header (v1 or v2), as
   * sent by a TCP balancer in front of weir (HAProxy send-proxy, AWS NLB,
   * ...). A connection without a valid header is closed.
   */
  proxyProtocol?: boolean;
  /** How long a connection may take to send its whole PROXY header (default 5000). */
  proxyHeaderTimeoutMs?: number;
  /** Bind with SO_REUSEPORT: each worker of a group (`weir start --workers`) has a socket of its own on the same port, and the kernel spreads connections. */
  reusePort?: boolean;
}

const proxySources = new WeakMap<Socket, ProxySource>();

/**
 * Node's HTTP parser (llhttp) does the strict parsing: a request with
 * conflicting Content-Length headers, Content-Length together with
 * Transfer-Encoding, invalid header characters or no Host never reaches
 * the driver; it lands in 'clientError' and gets a 4xx here. Requests on
 * one connection are served one at a time, in order (client-connection.ts).
 */
export async function listenHttp(
  listen: Address,
  requests: RequestServer,
  settings: ClientSettings,
  log: Logger,
  options: ListenOptions = {},
): Promise<HttpListener> {
  let current = settings;
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;

  const server = http.createServer({
    // Uploads and downloads may take as long as they need while bytes flow;
    // the idle timeouts on both sides catch the ones that stop.
    requestTimeout: 0,
    headersTimeout: settings.headerTimeoutMs,
    keepAliveTimeout: settings.keepAliveMs,
    // How often Node looks for connections past headersTimeout.
    connectionsCheckingInterval: 1_000,
    requireHostHeader: true,
  });
  applySettings(server, settings);

  const connections = new WeakMap<Socket, ClientConnection>();
  const serve = (req: http.IncomingMessage, answer: ClientAnswer, upgrade?: IncomingRequest['upgrade']): void => {
    requests.serve(incomingRequest(req, upgrade), answer);
  };
  const onOverflow = (socket: Socket): void => {
    log.info({ client: socket.remoteAddress, limit: current.pipelinedRequests }, `closing a connection after the answers it is owed: more than ${current.pipelinedRequests} pipelined requests waiting`);
  };

  server.on('request', (req, res) => {
    inFlight++;
    if (draining) res.shouldKeepAlive = false;
    res.once('close', () => {
      inFlight--;
      if (draining && inFlight === 0) drained?.();
    });
    const socket = req.socket;
    let connection = connections.get(socket);
    if (connection === undefined) {
      connection = new ClientConnection(socket, () => current.pipelinedRequests, onOverflow);
      connections.set(socket, connection);
    }
    connection.accept(res, (answer) => serve(req, answer));
  });
  // Upgraded connections leave the server's bookkeeping; weir keeps its own
  // list so a drain can end the tunnels too.
  const tunnels = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
    socket.on('error', () => socket.destroy());
    const protocol = req.headers.upgrade;
    serve(req, new SocketAnswer(socket), { protocol: Array.isArray(protocol) ? (protocol[0] ?? '') : (protocol ?? ''), head });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const reason = status === 408 ? `request head not complete within ${current.headerTimeoutMs}ms (client_timeouts.header)` : (error.code ?? error.message);
    log.info({ status, owner: 'client', reason, client: socket.remoteAddress }, `${status} malformed request: ${reason}`);
    socket.end(plainResponseBytes(status));
  });
  server.on('drop', (data?: { remoteAddress?: string }) => {
    log.warn({ client: data?.remoteAddress, limit: current.maxConnections }, `connection refused: ${current.maxConnections} client connections open (limits.client_connections)`);
  });
  const awaitingHeader = options.proxyProtocol ? expectProxyHeaders(server, options.proxyHeaderTimeoutMs ?? 5_000, log) : undefined;
  let open = 0;
  server.on('connection', (socket: Socket) => {
    open++;
    socket.once('close', () => open--);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ port: listen.port, host: listen.host, reusePort: options.reusePort === true }, () => {
      server.off('error', onError);
      // Only now: a failure to listen is the caller's to report, once.
      server.on('error', (error) => log.error({ err: error }, `listener error: ${error.message}`));
      resolve();
    });
  });
  const bound = server.address();
  const address = typeof bound === 'object' && bound ? { host: bound.address, port: bound.port } : listen;

  async function drain(deadlineMs: number): Promise<void> {
    draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // A connection still sending its PROXY header has no request in flight.
    for (const socket of awaitingHeader ?? []) socket.destroy();
    server.closeIdleConnections();
    if (inFlight > 0) {
      const allDone = new Promise<void>((resolve) => (drained = resolve));
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref());
      await Promise.race([allDone, deadline]);
    }
    server.closeAllConnections();
    for (const tunnel of tunnels) tunnel.destroy();
    await closed;
  }

  return {
    address,
    configure(next) {
      current = next;
      applySettings(server, next);
    },
    connections: () => open,
    drain,
  };
}

function applySettings(server: http.Server, settings: ClientSettings): void {
  server.maxConnections = settings.maxConnections;
  server.headersTimeout = settings.headerTimeoutMs;
  server.keepAliveTimeout = settings.keepAliveMs;
}

function incomingRequest(req: http.IncomingMessage, upgrade: IncomingRequest['upgrade']): IncomingRequest {
  const source = proxySources.get(req.socket);
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    rawHeaders: req.rawHeaders,
    peer: unmapped(req.socket.remoteAddress ?? ''),
    proxySource: source && unmapped(source.address),
    body: req,
    upgrade,
  };
}

/** IPv4-mapped IPv6 ("::ffff:10.0.0.1") unwrapped, so IPv4 rules apply. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * Puts a PROXY header reader in front of the HTTP server's own connection
 * handling, which is the server's 'connection' listener. The server keeps
 * listening itself, so its connection tracking (headersTimeout,
 * closeIdleConnections) works as without PROXY protocol; its HTTP parser
 * gets the socket only once the header is consumed, with any bytes read past
 * the header put back. Returns the connections still waiting for a header.
 */
function expectProxyHeaders(server: http.Server, timeoutMs: number, log: Logger): Set<Socket> {
  const handlers = server.listeners('connection') as Array<(this: http.Server, socket: Socket) => void>;
  // Fail at startup rather than serve connections whose headers nobody checks.
  if (handlers.length !== 1) throw new Error(`proxy_protocol: the HTTP server has ${handlers.length} connection listeners, expected node's one`);
  const serveConnection = handlers[0]!;
  server.removeListener('connection', serveConnection);

  const awaiting = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    awaiting.add(socket);
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => refuse(`no complete PROXY protocol header within ${timeoutMs}ms`), timeoutMs);

    function stopWaiting(): void {
      clearTimeout(timer);
      awaiting.delete(socket);
      socket.off('data', onData);
      socket.off('error', hangUp);
      socket.off('end', hangUp);
      socket.off('close', stopWaiting);
    }
    function refuse(reason: string): void {
      stopWaiting();
      log.debug({ remote: socket.remoteAddress, reason }, `connection closed: ${reason}`);
      socket.destroy();
    }
    // A client that resets or finishes sending before its header is complete
    // (a TCP health check, say) leaves nothing to report.
    function hangUp(): void {
      stopWaiting();
      socket.destroy();
    }
    function onData(chunk: Buffer): void {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const header = parseProxyHeader(received);
      if (header.kind === 'need-more') return;
      if (header.kind === 'invalid') {
        refuse(header.reason);
        return;
      }
      stopWaiting();
      if (header.source) proxySources.set(socket, header.source);
      // Paused, the stream keeps the bytes after the header (and any that
      // arrive meanwhile) until the HTTP server has attached its parser.
      socket.pause();
      if (received.length > header.headerLength) socket.unshift(received.subarray(header.headerLength));
      serveConnection.call(server, socket);
      socket.resume();
    }

    socket.on('data', onData);
    socket.on('error', hangUp);
    socket.on('end', hangUp);
    socket.on('close', stopWaiting);
  });
  return awaiting;
}
