// The HTTP/1.1 side of a listener: Node's http server, for plain and TLS
// connections alike (a TLS socket is handed to it like a TCP one).
//
// Node's HTTP parser (llhttp) does the strict parsing: a request with
// conflicting Content-Length headers, Content-Length together with
// Transfer-Encoding, invalid header characters or no Host never reaches
// the driver; it lands in 'clientError' and gets a 4xx here. Requests on
// one connection are served one at a time, in order (client-connection.ts).

import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SocketAnswer, type ClientAnswer } from '../http/client-answer.ts';
import { plainResponseBytes } from '../http/respond.ts';
import type { Logger } from '../log.ts';
import type { IncomingRequest } from '../runtime/exchange.ts';
import { ClientConnection } from './client-connection.ts';
import { factsOf } from './connection-facts.ts';
import type { InFlight } from './in-flight.ts';

export interface Http1Settings {
  maxConnections: number;
  pipelinedRequests: number;
  headerTimeoutMs: number;
  keepAliveMs: number;
}

export interface Http1ServerOptions {
  serve(request: IncomingRequest, answer: ClientAnswer): void;
  settings: () => Http1Settings;
  log: Logger;
  /** Requests arrive over TLS: they are https. */
  secure: boolean;
  inFlight: InFlight;
  /** A drain has begun: answers close their connections. */
  draining: () => boolean;
}

export interface Http1Server {
  readonly server: http.Server;
  /** Upgraded connections, which leave the server's bookkeeping: a drain ends them. */
  readonly tunnels: ReadonlySet<Duplex>;
  apply(settings: Http1Settings): void;
}

export function createHttp1Server(options: Http1ServerOptions): Http1Server {
  const { log, inFlight } = options;
  const settings = options.settings();
  const serverOptions: http.ServerOptions & { shouldUpgradeCallback: (req: http.IncomingMessage) => boolean } = {
    // Uploads and downloads may take as long as they need while bytes flow;
    // the idle timeouts on both sides catch the ones that stop.
    requestTimeout: 0,
    headersTimeout: settings.headerTimeoutMs,
    keepAliveTimeout: settings.keepAliveMs,
    // How often Node looks for connections past headersTimeout.
    connectionsCheckingInterval: 1_000,
    requireHostHeader: true,
    // "Upgrade: h2c" (RFC 7540's upgrade to HTTP/2, removed by RFC 9113) is
    // never honoured nor passed to a backend as an upgrade: such a request
    // is served as an ordinary one, its Upgrade header dropped as
    // hop-by-hop. Node 24 asks this before choosing 'upgrade' over 'request'.
    shouldUpgradeCallback: (req) => upgradeProtocol(req) !== undefined,
  };
  const server = http.createServer(serverOptions);

  const connections = new WeakMap<Socket, ClientConnection>();
  const serve = (req: http.IncomingMessage, answer: ClientAnswer, upgrade?: IncomingRequest['upgrade']): void => {
    options.serve(incomingRequest(req, upgrade, options.secure), answer);
  };
  const onOverflow = (socket: Socket): void => {
    const limit = options.settings().pipelinedRequests;
    log.info({ client: socket.remoteAddress, limit }, `closing a connection after the answers it is owed: more than ${limit} pipelined requests waiting`);
  };

  server.on('request', (req, res) => {
    inFlight.started();
    if (options.draining()) res.shouldKeepAlive = false;
    res.once('close', () => inFlight.finished());
    const socket = req.socket;
    let connection = connections.get(socket);
    if (connection === undefined) {
      connection = new ClientConnection(socket, () => options.settings().pipelinedRequests, onOverflow);
      connections.set(socket, connection);
    }
    connection.accept(res, (answer) => serve(req, answer));
  });
  const tunnels = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
    socket.on('error', () => socket.destroy());
    const protocol = upgradeProtocol(req);
    // Only on a Node without shouldUpgradeCallback does an h2c-only upgrade
    // get here: it is served as an ordinary request, answered on the bare
    // connection, which closes after it.
    serve(req, new SocketAnswer(socket), protocol === undefined ? undefined : { protocol, head });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const timeoutMs = options.settings().headerTimeoutMs;
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const reason = status === 408 ? `request head not complete within ${timeoutMs}ms (client_timeouts.header)` : (error.code ?? error.message);
    log.info({ status, owner: 'client', reason, client: socket.remoteAddress }, `${status} malformed request: ${reason}`);
    socket.end(plainResponseBytes(status));
  });

  const apply = (next: Http1Settings): void => {
    server.maxConnections = next.maxConnections;
    server.headersTimeout = next.headerTimeoutMs;
    server.keepAliveTimeout = next.keepAliveMs;
  };
  apply(settings);
  return { server, tunnels, apply };
}

/** The protocols an Upgrade request asks for, h2c left out; undefined when none is left. */
export function upgradeProtocol(req: http.IncomingMessage): string | undefined {
  const header = req.headers.upgrade;
  if (header === undefined) return undefined;
  const protocols = header
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '' && token.toLowerCase() !== 'h2c');
  return protocols.length === 0 ? undefined : protocols.join(', ');
}

function incomingRequest(req: http.IncomingMessage, upgrade: IncomingRequest['upgrade'], secure: boolean): IncomingRequest {
  const facts = factsOf(req.socket);
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    rawHeaders: req.rawHeaders,
    peer: facts.peer,
    proxySource: facts.proxySource,
    secure,
    body: req,
    upgrade,
  };
}
