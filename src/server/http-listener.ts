import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Address } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { ProxyHandlers } from '../proxy/handler.ts';
import { plainResponseBytes } from '../http/respond.ts';
import { parseProxyHeader, type ProxySource } from './proxy-protocol.ts';

/** A listening HTTP server that knows how to stop gracefully. */
export interface HttpListener {
  readonly address: Address;
  /** Stops accepting, lets in-flight requests finish until the deadline, then closes every connection. */
  drain(deadlineMs: number): Promise<void>;
}

export interface ListenOptions {
  /**
   * Every connection must open with a PROXY protocol header (v1 or v2), as
   * sent by a TCP balancer in front of weir (HAProxy send-proxy, AWS NLB,
   * ...). The client it declares is proxySource(socket). A connection without
   * a valid header is closed.
   */
  proxyProtocol?: boolean;
  /** How long a connection may take to send its whole PROXY header (default 5000). */
  proxyHeaderTimeoutMs?: number;
}

const proxySources = new WeakMap<Socket, ProxySource>();

/**
 * The client a PROXY protocol header declared for this connection; undefined
 * without PROXY protocol, and for headers that name no client (v1 UNKNOWN,
 * v2 LOCAL: the balancer's own health checks).
 */
export function proxySource(socket: Socket): ProxySource | undefined {
  return proxySources.get(socket);
}

/**
 * Node's HTTP parser (llhttp) does the strict parsing: a request with
 * conflicting Content-Length headers, Content-Length together with
 * Transfer-Encoding, invalid header characters or no Host never reaches
 * weir's handler; it lands in 'clientError' and gets a 4xx here.
 */
export async function listenHttp(listen: Address, handlers: ProxyHandlers, log: Logger, options: ListenOptions = {}): Promise<HttpListener> {
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;

  const server = http.createServer({
    // Large uploads and long downloads may take as long as they need; the
    // idle timeouts toward the backend guard against stuck transfers.
    requestTimeout: 0,
    headersTimeout: 30_000,
    keepAliveTimeout: 5_000,
    requireHostHeader: true,
  });

  server.on('request', (req, res) => {
    inFlight++;
    if (draining) res.shouldKeepAlive = false;
    res.once('close', () => {
      inFlight--;
      if (draining && inFlight === 0) drained?.();
    });
    handlers.onRequest(req, res);
  });
  // Upgraded connections leave the server's bookkeeping; weir keeps its own
  // list so a drain can end the tunnels too.
  const tunnels = new Set<Duplex>();
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
    handlers.onUpgrade(req, socket, head);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    log.debug({ status, code: error.code, remote: socket.remoteAddress }, `${status} malformed request: ${error.code ?? error.message}`);
    socket.end(plainResponseBytes(status));
  });
  server.on('error', (error) => log.error({ err: error }, `listener error: ${error.message}`));
  const awaitingHeader = options.proxyProtocol ? expectProxyHeaders(server, options.proxyHeaderTimeoutMs ?? 5_000, log) : undefined;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(listen.port, listen.host, () => {
      server.off('error', onError);
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

  return { address, drain };
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
