// The connections to one backend, whatever it speaks: HTTP/1.1 keep-alive
// connections or HTTP/2 sessions, over TCP or TLS, as its endpoint says.
// Both take the same exchanges and report through the same ExchangeHandler,
// so an attempt or a health check does not know which it talks to.

import type { Backend } from '../backend.ts';
import type { ExchangeHandler } from './connection.ts';
import { H2Pool } from './h2-session-pool.ts';
import { BackendPool, type ExchangeControl, type UpstreamRequest } from './pool.ts';

export interface UpstreamPool {
  dispatch(request: UpstreamRequest, idleMs: number, handler: ExchangeHandler): ExchangeControl;
  /** Closes idle connections now and the others once their exchanges end. */
  close(): Promise<void>;
  /** Ends every connection now, exchanges under way included. */
  destroy(): void;
}

/** A new pool of connections to `backend`, reached as its endpoint says. */
export function openPool(backend: Backend, connectMs: number): UpstreamPool {
  const { endpoint } = backend;
  const target = { host: backend.address.host, port: backend.address.port, connectMs, tls: endpoint.tls };
  return endpoint.protocol === 'h2' ? new H2Pool({ ...target, alpn: 'h2' }, backend.label) : new BackendPool({ ...target, alpn: 'http/1.1' }, backend.label);
}
