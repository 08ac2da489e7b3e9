// HTTP/2 sessions to one backend: one session multiplexes the requests, and
// a second opens only when the backend's SETTINGS_MAX_CONCURRENT_STREAMS is
// reached on the first. A session that got a GOAWAY takes no new stream and
// leaves the pool once its last stream ends; one without streams closes
// after KEEP_ALIVE_IDLE_MS (no PINGs: an idle session is not kept alive,
// only closed). The same ExchangeHandler contract as the HTTP/1.1 pool, so
// attempts, health checks and their errors work the same on both.

import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { ExchangeHandler } from './connection.ts';
import { connectFailure, Dialer, type DialTarget } from './dial.ts';
import { H2Exchange, type H2ExchangeOwner, type H2StreamHost } from './h2-exchange.ts';
import { h2RequestHeaders } from './h2-headers.ts';
import type { ExchangeControl, UpstreamRequest } from './pool.ts';
import { UpstreamError } from './upstream-error.ts';

/** As long as an HTTP/1.1 connection waits: before a backend's own idle timeout (commonly 5 s) closes it under a request. */
const KEEP_ALIVE_IDLE_MS = 4_000;

// What a backend allows at once before its first SETTINGS arrive (Node assumes the same).
const ASSUMED_MAX_STREAMS = 100;
// HTTP/2's own default when SETTINGS say nothing: no limit.
const UNLIMITED_STREAMS = 2 ** 32 - 1;

// Flow-control windows: how much of a response may arrive while the client
// is not reading it. Larger than HTTP/2's 64 KiB default, which would make a
// fast backend wait for a round trip every 64 KiB; still bounded per stream.
const STREAM_WINDOW_BYTES = 256 * 1024;
const SESSION_WINDOW_BYTES = 4 * 1024 * 1024;

/** One HTTP/2 session to the backend, and how many streams are open on it. */
class H2Connection implements H2StreamHost {
  readonly #session: ClientHttp2Session;
  readonly #pool: H2Pool;
  ready = false;
  #waiting: Array<() => void> = [];
  #streams = 0;
  /** The backend's SETTINGS_MAX_CONCURRENT_STREAMS; until its SETTINGS come, what its other sessions said. */
  #maxStreams: number;
  /** No new streams: the backend sent GOAWAY, or the pool is closing. */
  #draining = false;
  #failure: Error | undefined;
  #failedWhenReady = false;
  /** The backend's first SETTINGS came: it speaks HTTP/2. */
  #spokeHttp2 = false;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(pool: H2Pool, dialer: Dialer, authority: string) {
    this.#pool = pool;
    this.#maxStreams = pool.peerMaxStreams;
    const socket = dialer.open(() => undefined);
    // Before the session's own listener: the socket's error is the truest reason a stream ended.
    socket.on('error', (error) => this.#failed(this.ready ? error : connectFailure(error, socket)));
    const session = connect(authority, {
      createConnection: () => socket,
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES },
      peerMaxConcurrentStreams: this.#maxStreams,
    });
    this.#session = session;
    session.on('remoteSettings', (settings) => {
      this.#spokeHttp2 = true;
      this.#maxStreams = settings.maxConcurrentStreams ?? UNLIMITED_STREAMS;
      pool.peerMaxStreams = this.#maxStreams;
    });
    session.once('connect', () => {
      this.ready = true;
      session.setLocalWindowSize(SESSION_WINDOW_BYTES);
      for (const then of this.#waiting.splice(0)) then();
      if (this.#streams === 0) this.#idle();
    });
    session.on('goaway', () => this.#drain());
    session.on('error', (error) => this.#failed(error));
    session.once('close', () => {
      clearTimeout(this.#idleTimer);
      this.#draining = true;
      this.#waiting = [];
      this.#pool.gone(this);
    });
  }

  /** Whether it may take another stream now. */
  get hasRoom(): boolean {
    if (this.#draining || this.#session.closed || this.#session.destroyed) return false;
    return this.#streams < this.#maxStreams;
  }

  openStream(fields: string[], endStream: boolean): ClientHttp2Stream {
    let stream: ClientHttp2Stream;
    try {
      stream = this.#session.request(fields, { endStream });
    } catch (error) {
      // Closing, or out of stream ids: the next stream goes to another session.
      this.#drain();
      throw error;
    }
    this.#streams++;
    clearTimeout(this.#idleTimer);
    stream.once('close', () => {
      this.#streams--;
      if (this.#streams > 0) return;
      if (this.#draining) this.#session.close();
      else if (this.ready) this.#idle();
    });
    return stream;
  }

  get closed(): boolean {
    return this.#session.destroyed;
  }

  connectionFailure(afterHead: boolean): Error | undefined {
    const failure = this.#failure;
    if (failure !== undefined && (!this.#failedWhenReady || failure instanceof UpstreamError)) return failure;
    if (!this.#spokeHttp2 && (failure !== undefined || this.#session.destroyed)) {
      // Connected, then closed or garbled without the SETTINGS every HTTP/2 server sends first: an HTTP/1.1 server, say.
      const how = failure === undefined ? 'it closed the connection' : `${(failure as NodeJS.ErrnoException).code ?? failure.message}`;
      return new UpstreamError('WEIR_NOT_HTTP2', `backend does not speak HTTP/2 (${how} without sending SETTINGS)`, false, { cause: failure });
    }
    if (failure === undefined) return undefined;
    const code = (failure as NodeJS.ErrnoException).code;
    return new UpstreamError('WEIR_UPSTREAM_RESET', `connection to the backend failed (${code ?? failure.message})`, afterHead, { cause: failure });
  }

  afterReady(then: () => void): void {
    if (this.ready) then();
    else if (this.#failure === undefined) this.#waiting.push(then);
  }

  /** No new streams; closes once those open have ended. */
  close(): void {
    this.#drain();
    this.#session.close();
  }

  /** Ends the session now, its streams with it. */
  destroy(reason: Error): void {
    this.#failed(reason);
    this.#session.destroy();
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.#pool.draining(this);
  }

  #idle(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.close(), KEEP_ALIVE_IDLE_MS);
  }

  #failed(error: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#failedWhenReady = this.ready;
    this.#drain();
  }
}

/** HTTP/2 to one backend: over TLS (ALPN h2) or h2c by prior knowledge. */
export class H2Pool implements H2ExchangeOwner {
  readonly #dialer: Dialer;
  readonly #authority: string;
  readonly #defaultAuthority: string;
  readonly #scheme: 'http' | 'https';
  /** Sessions that may take new streams, oldest first. */
  readonly #open = new Set<H2Connection>();
  /** Every session not yet closed. */
  readonly #all = new Set<H2Connection>();
  /** The backend's stream limit as its last SETTINGS said: what a new session assumes until its own arrive. */
  peerMaxStreams = ASSUMED_MAX_STREAMS;
  #closing = false;
  #allGone: (() => void) | undefined;

  /** `label` is the backend's host:port, the :authority sent when the client gave no Host. */
  constructor(target: DialTarget, label: string) {
    this.#dialer = new Dialer({ ...target, alpn: 'h2' });
    this.#scheme = target.tls === undefined ? 'http' : 'https';
    this.#authority = `${this.#scheme}://${label}`;
    this.#defaultAuthority = label;
  }

  dispatch(request: UpstreamRequest, idleMs: number, handler: ExchangeHandler): ExchangeControl {
    const noop: ExchangeControl = { abort: () => undefined, resume: () => undefined };
    if (request.upgrade !== undefined) {
      const refusal = new UpstreamError('WEIR_UPGRADE_OVER_H2', `Upgrade (${request.upgrade}) cannot be forwarded to a backend spoken to in HTTP/2`, false);
      queueMicrotask(() => handler.onError(refusal));
      return noop;
    }
    let fields: string[];
    try {
      fields = h2RequestHeaders(request, this.#defaultAuthority, this.#scheme);
    } catch (error) {
      queueMicrotask(() => handler.onError(error as Error));
      return noop;
    }
    const exchange = new H2Exchange(fields, request.body, idleMs, handler, this);
    if (this.#closing) {
      queueMicrotask(() => exchange.abort(Object.assign(new Error('weir is closing its backend connections'), { code: 'WEIR_POOL_CLOSED' })));
    } else {
      exchange.run(this.#take());
    }
    return { abort: (reason) => exchange.abort(reason), resume: () => exchange.resume() };
  }

  retryRefused(exchange: H2Exchange): boolean {
    if (this.#closing || exchange.resent) return false;
    exchange.resent = true;
    exchange.run(this.#take());
    return true;
  }

  /** A session with room for one more stream, or a new one. */
  #take(): H2Connection {
    for (const connection of this.#open) if (connection.hasRoom) return connection;
    const connection = new H2Connection(this, this.#dialer, this.#authority);
    this.#open.add(connection);
    this.#all.add(connection);
    return connection;
  }

  /** A session takes no new streams (GOAWAY, failure, closing). */
  draining(connection: H2Connection): void {
    this.#open.delete(connection);
  }

  gone(connection: H2Connection): void {
    this.#open.delete(connection);
    this.#all.delete(connection);
    if (this.#all.size === 0) this.#allGone?.();
  }

  /** Closes sessions once their streams end (idle ones now). */
  async close(): Promise<void> {
    this.#closing = true;
    const all = [...this.#all];
    if (all.length === 0) return;
    const gone = new Promise<void>((resolve) => (this.#allGone = resolve));
    for (const connection of all) connection.close();
    await gone;
  }

  /** Ends every session now, streams under way included. */
  destroy(): void {
    this.#closing = true;
    const reason = new UpstreamError('WEIR_POOL_CLOSED', 'weir is closing its backend connections', false);
    for (const connection of [...this.#all]) connection.destroy(reason);
  }
}
