// One address weir accepts clients on, and what each connection goes
// through there before it speaks HTTP:
//
//   accept ─► PROXY header? ─► TLS handshake? ─► ALPN "h2" ──────────► HTTP/2 session (h2-sessions.ts)
//                                   │           └ "http/1.1" or none ─► node:http server (http1-server.ts)
//                                   └ plain ─► HTTP/2 preface? (h2c on) ─► HTTP/2 session
//                                                              └ else ───► node:http server
//
// Node's http server is the one that listens, whatever the kind of
// listener, so that its bookkeeping (the connection limit, headersTimeout,
// closeIdleConnections) covers every connection; the steps sit in front of
// its own connection handling, and hand it the connections that speak
// HTTP/1.1, TLS ones included. Both protocols end in the same driver.

import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Address } from '../config/types.ts';
import type { ClientAnswer } from '../http/client-answer.ts';
import type { Logger } from '../log.ts';
import type { IncomingRequest } from '../runtime/driver.ts';
import type { ConnectionStep, Unserved } from './connection-step.ts';
import { DEFAULT_H2_MAX_HEADER_LIST_BYTES, DEFAULT_H2_MAX_STREAMS, H2Sessions, type H2Limits } from './h2-sessions.ts';
import { createHttp1Server } from './http1-server.ts';
import { InFlight } from './in-flight.ts';
import { sniffH2cPreface } from './protocol-sniff.ts';
import { proxyHeaderGate } from './proxy-header-gate.ts';
import { tlsHandshake, type ListenTls } from './tls-handshake.ts';

/** Whoever serves the requests a listener accepts: the driver. */
export interface RequestServer {
  serve(request: IncomingRequest, answer: ClientAnswer): void;
}

/** What a listener enforces on its clients; a reload may change all of it. */
export interface ClientSettings {
  /** Open client connections at once, whatever their protocol; beyond it a new connection is closed at once. */
  maxConnections: number;
  /** Requests a client may send ahead on one HTTP/1.1 connection while one is being served. */
  pipelinedRequests: number;
  /** The whole request head must arrive within this (408); so must a TLS handshake and an HTTP/2 header block. */
  headerTimeoutMs: number;
  /** An idle keep-alive connection is closed after this; so is an HTTP/2 connection with no stream open. */
  keepAliveMs: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS of each HTTP/2 connection (default 100). */
  http2MaxStreams?: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE of each HTTP/2 connection, in bytes (default 32 KiB). */
  http2MaxHeaderListBytes?: number;
}

/** A listening HTTP server that knows how to stop gracefully. */
export interface HttpListener {
  readonly address: Address;
  /** Clients reach it over TLS (https:// URLs). */
  readonly secure: boolean;
  /** Applies new client settings to the running listener (a reload). */
  configure(settings: ClientSettings): void;
  /** Client connections open now, whatever their protocol. */
  connections(): number;
  /**
   * Stops accepting, lets in-flight requests finish until the deadline, then
   * closes every connection. HTTP/2 connections get GOAWAY at once: their
   * open streams finish, no new one starts.
   */
  drain(deadlineMs: number): Promise<void>;
}

export interface ListenOptions {
  /**
   * Every connection must open with a PROXY protocol header (v1 or v2), as
   * sent by a TCP balancer in front of weir (HAProxy send-proxy, AWS NLB,
   * ...). A connection without a valid header is closed. The header comes
   * before TLS and before the HTTP/2 preface.
   */
  proxyProtocol?: boolean;
  /** How long a connection may take to send its whole PROXY header (default 5000). */
  proxyHeaderTimeoutMs?: number;
  /** Bind with SO_REUSEPORT: each worker of a group (`weir start --workers`) has a socket of its own on the same port, and the kernel spreads connections. */
  reusePort?: boolean;
  /** TLS: certificates chosen by SNI. */
  tls?: ListenTls;
  /**
   * HTTP/2: by ALPN on TLS (default on), by prior knowledge (h2c) on plain
   * TCP (default off). An HTTP/1.1 "Upgrade: h2c" is never honoured.
   */
  http2?: boolean;
}

export type { ListenTls } from './tls-handshake.ts';

export async function listenHttp(
  listen: Address,
  requests: RequestServer,
  settings: ClientSettings,
  log: Logger,
  options: ListenOptions = {},
): Promise<HttpListener> {
  let current = settings;
  let draining = false;
  const secure = options.tls !== undefined;
  const http2 = options.http2 ?? secure;
  const inFlight = new InFlight();
  const serve = (request: IncomingRequest, answer: ClientAnswer): void => requests.serve(request, answer);

  const http1 = createHttp1Server({ serve, settings: () => current, log, secure, inFlight, draining: () => draining });
  const { server } = http1;
  const h2 = http2 ? new H2Sessions({ serve, limits: () => h2Limits(current), log, secure, inFlight }) : undefined;

  const unserved: Unserved = new Set<Duplex>();
  const steps = options.proxyProtocol || secure || h2 !== undefined;
  if (steps) {
    const serveHttp1 = takeNodeConnectionHandling(server);
    const serveH2: ConnectionStep = h2 ? (socket) => h2.accept(socket) : serveHttp1;
    const timeoutMs = (): number => current.headerTimeoutMs;
    let entry: ConnectionStep = serveHttp1;
    if (options.tls) entry = tlsHandshake({ tls: options.tls, http2: h2 !== undefined, h2: serveH2, http1: serveHttp1, timeoutMs, log, unserved });
    else if (h2) entry = sniffH2cPreface({ h2: serveH2, http1: serveHttp1, timeoutMs, log, unserved });
    if (options.proxyProtocol) entry = proxyHeaderGate(entry, { timeoutMs: options.proxyHeaderTimeoutMs ?? 5_000, log, unserved });
    server.on('connection', entry);
  }

  server.on('drop', (data?: { remoteAddress?: string }) => {
    log.warn({ client: data?.remoteAddress, limit: current.maxConnections }, `connection refused: ${current.maxConnections} client connections open (limits.client_connections)`);
  });
  let open = 0;
  server.on('connection', (socket: Duplex) => {
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
    // Connections still sending a PROXY header, in a TLS handshake, or not yet
    // past their first bytes have no request in flight.
    for (const socket of unserved) socket.destroy();
    server.closeIdleConnections();
    h2?.drain();
    if (inFlight.count > 0 || (h2 !== undefined && h2.size > 0)) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
      // HTTP/2 sessions close by themselves once their streams are done and
      // their last frames are written; ended sooner, those frames are lost.
      await Promise.race([Promise.all([inFlight.idle(), h2?.allClosed()]), deadline]);
      clearTimeout(timer);
    }
    server.closeAllConnections();
    h2?.destroyAll();
    for (const tunnel of http1.tunnels) tunnel.destroy();
    await closed;
  }

  return {
    address,
    secure,
    configure(next) {
      current = next;
      http1.apply(next);
      h2?.configure();
    },
    connections: () => open,
    drain,
  };
}

function h2Limits(settings: ClientSettings): H2Limits {
  return {
    maxStreams: settings.http2MaxStreams ?? DEFAULT_H2_MAX_STREAMS,
    maxHeaderListBytes: settings.http2MaxHeaderListBytes ?? DEFAULT_H2_MAX_HEADER_LIST_BYTES,
    keepAliveMs: settings.keepAliveMs,
    headerTimeoutMs: settings.headerTimeoutMs,
  };
}

/**
 * Takes Node's own connection handling off the server's 'connection' event
 * and returns it as the last step: the server keeps listening itself, so its
 * connection tracking (headersTimeout, closeIdleConnections) works as if
 * nothing were in front; its HTTP parser gets a connection once the steps
 * are done with it, with any bytes they read put back.
 */
function takeNodeConnectionHandling(server: Server): ConnectionStep {
  const handlers = server.listeners('connection') as Array<(this: typeof server, socket: Duplex) => void>;
  // Fail at startup rather than serve connections nobody checks.
  if (handlers.length !== 1) throw new Error(`the HTTP server has ${handlers.length} connection listeners, expected node's one`);
  const serveConnection = handlers[0]!;
  server.removeListener('connection', serveConnection);
  return (socket) => {
    serveConnection.call(server, socket);
    socket.resume();
  };
}
