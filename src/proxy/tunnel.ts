import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import type { UpstreamRequest } from '../middleware/types.ts';
import type { CompiledRoute } from '../runtime/compile.ts';
import { upstreamTarget } from '../http/request-target.ts';
import type { Backend } from '../upstream/backend.ts';
import type { Service } from '../upstream/service.ts';
import { plainResponseBytes } from '../http/respond.ts';

export interface TunnelJob {
  req: IncomingMessage;
  client: Duplex;
  /** Bytes the client sent after its request head (already read by the server). */
  head: Buffer;
  route: CompiledRoute;
  service: Service;
  upstream: UpstreamRequest;
  backend: Backend;
  connectTimeoutMs: number;
  log: Logger;
}

/**
 * Carries an Upgrade request (WebSocket and the like) to the backend on a
 * connection of its own, then pipes bytes both ways until either side
 * closes. The backend's answer, 101 or not, reaches the client unchanged:
 * weir does not need to understand the protocol to carry it.
 */
export function openTunnel(job: TunnelJob): void {
  const { client, backend, log } = job;
  backend.inflight++;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    backend.inflight--;
    job.service.released(performance.now());
  };

  const upstream = net.connect({ host: backend.address.host, port: backend.address.port });
  let connected = false;
  upstream.setTimeout(job.connectTimeoutMs, () => {
    if (connected) return;
    fail(504, `connect timed out after ${job.connectTimeoutMs}ms`);
  });

  const fail = (status: 502 | 504, reason: string): void => {
    log.warn({ status, route: job.route.name, backend: backend.label, url: job.req.url, reason }, `${status} upgrade ${job.req.url}: backend ${backend.label}: ${reason}`);
    upstream.destroy();
    if (client.writable) client.end(plainResponseBytes(status));
    finish();
  };

  upstream.once('connect', () => {
    connected = true;
    upstream.setTimeout(0);
    upstream.write(requestHead(job.upstream, backend.label));
    if (job.head.length > 0) upstream.write(job.head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    if (!connected) fail(502, error.code ?? error.message);
    else client.destroy();
  });
  client.on('error', () => upstream.destroy());
  upstream.on('close', () => {
    client.destroy();
    finish();
  });
  client.on('close', () => upstream.destroy());
}

/** The request line and headers; without a Host header (a rule removed it) the backend gets its own address. */
function requestHead(upstream: UpstreamRequest, backendLabel: string): string {
  let head = `${upstream.method} ${upstreamTarget(upstream)} HTTP/1.1\r\n`;
  const { headers } = upstream;
  let hasHost = false;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === 'host') hasHost = true;
    head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  }
  if (!hasHost) head += `host: ${backendLabel}\r\n`;
  return `${head}\r\n`;
}
