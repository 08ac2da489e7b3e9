import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Address } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { ProxyHandlers } from '../proxy/handler.ts';
import { plainResponseBytes } from '../proxy/respond.ts';

/** A listening HTTP server that knows how to stop gracefully. */
export interface HttpListener {
  readonly address: Address;
  /** Stops accepting, lets in-flight requests finish until the deadline, then closes every connection. */
  drain(deadlineMs: number): Promise<void>;
}

/**
 * Node's HTTP parser (llhttp) does the strict parsing: a request with
 * conflicting Content-Length headers, Content-Length together with
 * Transfer-Encoding, invalid header characters or no Host never reaches
 * weir's handler; it lands in 'clientError' and gets a 4xx here.
 */
export async function listenHttp(listen: Address, handlers: ProxyHandlers, log: Logger): Promise<HttpListener> {
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
