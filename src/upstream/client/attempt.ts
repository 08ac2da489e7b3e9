// One try of one request on one backend: the request handed to the
// connection pool, the response handed back as events. It keeps the
// backend's in-flight count and the response_headers timer, which runs
// from the moment the request body has been sent (a slow upload is not a
// slow backend) until the response head arrives.

import type { Duplex, Readable } from 'node:stream';
import type { Backend } from '../backend.ts';
import type { ExchangeHandler } from './connection.ts';
import type { ExchangeControl } from './pool.ts';
import type { Transport } from './transport.ts';

/** What the caller hears of an attempt. Exactly one of complete, upgraded or failed ends it. */
export interface AttemptListener {
  /** The response head (1xx excluded). Return false to give the attempt up: the caller retries elsewhere. */
  head(status: number, statusText: string, rawHeaders: string[]): boolean;
  /** A piece of the response body; return false to pause until attempt.resume(). */
  data(chunk: Buffer): boolean;
  complete(trailers: string[] | null): void;
  /** The backend answered 101 to an Upgrade request; `socket` now carries the other protocol. */
  upgraded(rawHeaders: string[], socket: Duplex): void;
  failed(error: unknown): void;
  /** The backend is free of this attempt (its in-flight count went down): a queued request may take its place. */
  released(): void;
}

export interface AttemptRequest {
  method: string;
  /** Path and query, as on the request line. */
  target: string;
  headers: string[];
  /** Read once; null when there is no body. */
  body: Readable | null;
  /** The Upgrade header's value for an Upgrade request. */
  upgrade: string | undefined;
}

export interface AttemptTimeouts {
  connectMs: number;
  responseHeadersMs: number;
  idleMs: number;
}

class ResponseHeadersTimeout extends Error {
  override name = 'ResponseHeadersTimeout';
  readonly code = 'WEIR_RESPONSE_HEADERS_TIMEOUT';
}

/** Given up by the caller: a retried status, or the client went away. Never reported back as a failure. */
export class AttemptAbandoned extends Error {
  override name = 'AttemptAbandoned';
}

export class Attempt implements ExchangeHandler {
  readonly backend: Backend;
  readonly #listener: AttemptListener;
  /** performance.now() when the attempt began. */
  readonly started = performance.now();
  readonly #responseHeadersMs: number;
  #headersTimer: NodeJS.Timeout | undefined;
  readonly #exchange: ExchangeControl;
  #released = false;
  #gaveUp = false;

  constructor(transport: Transport, backend: Backend, request: AttemptRequest, timeouts: AttemptTimeouts, listener: AttemptListener) {
    this.backend = backend;
    this.#listener = listener;
    this.#responseHeadersMs = timeouts.responseHeadersMs;
    backend.inflight++;
    const { body } = request;
    if (body === null) this.#startHeadersTimer();
    else body.once('end', () => this.#startHeadersTimer());
    this.#exchange = transport
      .pool(backend, timeouts.connectMs)
      .dispatch({ method: request.method, target: request.target, headers: request.headers, hasBody: body !== null, body, upgrade: request.upgrade }, timeouts.idleMs, this);
  }

  /** Ends the attempt now; the caller has already decided what the client gets. */
  abandon(reason = 'abandoned'): void {
    this.#gaveUp = true;
    this.#stop(new AttemptAbandoned(reason));
  }

  /** Continues reading the response body after data() returned false. */
  resume(): void {
    this.#exchange.resume();
  }

  /** For an upgraded attempt: the tunnel has closed, the backend is free. */
  release(): void {
    this.#release();
  }

  #stop(reason: Error): void {
    clearTimeout(this.#headersTimer);
    this.#exchange.abort(reason);
  }

  #startHeadersTimer(): void {
    if (this.#released || this.#headersTimer !== undefined) return;
    this.#headersTimer = setTimeout(() => this.#stop(new ResponseHeadersTimeout()), this.#responseHeadersMs);
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    clearTimeout(this.#headersTimer);
    this.backend.inflight--;
    this.#listener.released();
  }

  // The exchange's events (ExchangeHandler). Only the pool calls these.

  onHead(statusCode: number, statusText: string, rawHeaders: string[]): boolean {
    clearTimeout(this.#headersTimer);
    const now = performance.now();
    this.backend.latency.observe(now - this.started, now);
    if (this.#listener.head(statusCode, statusText, rawHeaders)) return true;
    this.abandon(`answered ${statusCode}`);
    return false;
  }

  onData(chunk: Buffer): boolean {
    return this.#listener.data(chunk);
  }

  onComplete(trailers: string[] | null): void {
    this.#release();
    if (!this.#gaveUp) this.#listener.complete(trailers);
  }

  onUpgrade(_statusCode: number, rawHeaders: string[], socket: Duplex): void {
    clearTimeout(this.#headersTimer);
    const now = performance.now();
    this.backend.latency.observe(now - this.started, now);
    // The backend stays busy with this client until the tunnel closes: release() then.
    this.#listener.upgraded(rawHeaders, socket);
  }

  onError(error: Error): void {
    this.#release();
    if (this.#gaveUp || error instanceof AttemptAbandoned) return;
    this.#listener.failed(error);
  }
}
