// Keep-alive connections to one backend. Idle connections are taken most
// recently used first (the warmest, and the least likely to have been
// closed by the backend), and closed after KEEP_ALIVE_IDLE_MS, before a
// backend's own idle timeout (commonly 5 s) closes them under a request.

import type { Readable } from 'node:stream';
import { UpstreamConnection, type ConnectionOwner, type Exchange, type ExchangeHandler } from './connection.ts';
import { Dialer, type DialTarget } from './dial.ts';
import { requestHead, type RequestToWrite } from './request-writer.ts';

const KEEP_ALIVE_IDLE_MS = 4_000;

// Methods whose request may be sent twice (RFC 9110 section 9.2.2): only
// these are sent again when a kept-alive connection turns out to be closed.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export interface UpstreamRequest extends RequestToWrite {
  /** Read once; null when there is no body. */
  body: Readable | null;
}

/** The caller's hold on an exchange under way. */
export interface ExchangeControl {
  /** Ends the exchange; the handler hears onError(reason) unless it has already ended. */
  abort(reason: Error): void;
  /** Reads the response body again after onData returned false. */
  resume(): void;
}

/** HTTP/1.1 keep-alive connections to one backend, over TCP or TLS. */
export class BackendPool implements ConnectionOwner {
  readonly #dialer: Dialer;
  readonly #defaultHost: string;
  readonly #idle: UpstreamConnection[] = [];
  readonly #all = new Set<UpstreamConnection>();
  #closing = false;
  #allGone: (() => void) | undefined;

  /** `label` is the backend's host:port, the Host sent when the client gave none. */
  constructor(target: DialTarget, label: string) {
    this.#dialer = new Dialer(target);
    this.#defaultHost = label;
  }

  dispatch(request: UpstreamRequest, idleMs: number, handler: ExchangeHandler): ExchangeControl {
    let head: ReturnType<typeof requestHead>;
    try {
      head = requestHead(request, this.#defaultHost);
    } catch (error) {
      queueMicrotask(() => handler.onError(error as Error));
      return { abort: () => undefined, resume: () => undefined };
    }
    const exchange: Exchange = {
      method: request.method,
      upgrade: request.upgrade !== undefined,
      head: head.head,
      framing: head.framing,
      body: request.body,
      handler,
      idleMs,
      bodyTaken: false,
      settled: false,
      connection: undefined,
    };
    if (this.#closing) {
      queueMicrotask(() => this.#refuse(exchange));
    } else {
      this.#take().run(exchange);
    }
    return {
      abort: (reason) => {
        if (exchange.settled) return;
        exchange.settled = true;
        exchange.connection?.destroy();
        exchange.connection = undefined;
        handler.onError(reason);
      },
      resume: () => exchange.connection?.resume(),
    };
  }

  #take(): UpstreamConnection {
    while (this.#idle.length > 0) {
      const connection = this.#idle.pop()!;
      if (connection.usable) return connection;
    }
    return this.#open();
  }

  #open(): UpstreamConnection {
    const connection = new UpstreamConnection(this.#dialer, this);
    this.#all.add(connection);
    return connection;
  }

  #refuse(exchange: Exchange): void {
    if (exchange.settled) return;
    exchange.settled = true;
    exchange.handler.onError(Object.assign(new Error('weir is closing its backend connections'), { code: 'WEIR_POOL_CLOSED' }));
  }

  // What connections tell their pool (ConnectionOwner).

  reusable(connection: UpstreamConnection): void {
    if (this.#closing) {
      connection.destroy();
      return;
    }
    const advertised = connection.keepAliveMs;
    // A backend's Keep-Alive timeout is when it closes: give it a second's margin.
    const idleMs = advertised === undefined ? KEEP_ALIVE_IDLE_MS : Math.min(KEEP_ALIVE_IDLE_MS, advertised - 1_000);
    if (idleMs <= 0) {
      connection.destroy();
      return;
    }
    connection.waitIdle(idleMs);
    this.#idle.push(connection);
  }

  gone(connection: UpstreamConnection): void {
    this.#all.delete(connection);
    const at = this.#idle.lastIndexOf(connection);
    if (at >= 0) this.#idle.splice(at, 1);
    if (this.#all.size === 0) this.#allGone?.();
  }

  retryStale(exchange: Exchange): boolean {
    if (this.#closing || !IDEMPOTENT.has(exchange.method)) return false;
    // A new connection, never a kept one: that one could be stale too.
    this.#open().run(exchange);
    return true;
  }

  /** Closes idle connections now and the others once their exchange ends. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const connection of this.#idle.splice(0)) connection.closeIdle();
    if (this.#all.size === 0) return;
    await new Promise<void>((resolve) => (this.#allGone = resolve));
  }

  /** Ends every connection now, exchanges under way included. */
  destroy(): void {
    this.#closing = true;
    this.#idle.length = 0;
    for (const connection of [...this.#all]) connection.destroy();
  }
}
