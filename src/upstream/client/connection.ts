// One keep-alive connection to a backend, carrying one exchange (a request
// and its response) at a time. It writes the request, streams its body with
// backpressure, reads the response through the strict parser, and decides
// whether the connection may carry another request: only when the response
// was read to its end, the request body was sent whole, the backend did not
// ask to close and sent nothing beyond the response.

import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { connectFailure, type Dialer } from './dial.ts';
import { pumpBody } from './body-pump.ts';
import { CHUNK_END, chunkSizeLine, LAST_CHUNK, type BodyFraming } from './request-writer.ts';
import { ResponseParser, type ResponseEvents, type ResponseHead } from './response-parser.ts';
import { UpstreamError } from './upstream-error.ts';

/** What the caller hears of an exchange. Exactly one of onComplete, onUpgrade or onError ends it. */
export interface ExchangeHandler {
  /** The final response head. Return false to give the exchange up (the caller then aborts it). */
  onHead(status: number, statusText: string, rawHeaders: string[]): boolean;
  /** A piece of the body; return false to pause reading until resume(). */
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | null): void;
  /** A 101: the socket now carries the other protocol and belongs to the caller. */
  onUpgrade(status: number, rawHeaders: string[], socket: Duplex): void;
  onError(error: Error): void;
}

export { UpstreamError };

/** The request of an exchange, as the pool hands it to a connection. */
export interface Exchange {
  readonly method: string;
  readonly upgrade: boolean;
  /** The request head, latin1. */
  readonly head: string;
  readonly framing: BodyFraming;
  readonly body: Readable | null;
  readonly handler: ExchangeHandler;
  /** How long the response body may stay silent. */
  readonly idleMs: number;
  /** A body byte was taken from the stream: the request can no longer be sent again. */
  bodyTaken: boolean;
  /** Ended: the handler has heard its last event. */
  settled: boolean;
  connection: UpstreamConnection | undefined;
}

/** What a connection tells its pool. */
export interface ConnectionOwner {
  /** The connection may carry another request. */
  reusable(connection: UpstreamConnection): void;
  /** The connection is closed or handed over (101) and out of the pool. */
  gone(connection: UpstreamConnection): void;
  /**
   * A reused connection failed before any byte of the response and before
   * any body byte was taken: the backend had closed it as the request went
   * out. Returns true when the pool sends the exchange again itself.
   */
  retryStale(exchange: Exchange): boolean;
}

export class UpstreamConnection implements ResponseEvents {
  readonly #socket: Socket;
  readonly #owner: ConnectionOwner;
  readonly #parser: ResponseParser;
  #connected = false;
  #exchange: Exchange | undefined;
  /** Whether a response has been read whole on it before: a reused connection may have been closed by the backend meanwhile. */
  #reused = false;
  #closed = false;
  /** From the current response head. */
  #keepAlive = false;
  keepAliveMs: number | undefined;
  #bodySent = false;
  #detachBody: (() => void) | undefined;
  /** Set by the parser's onComplete, acted on once execute() returns. */
  #completed = false;
  #trailers: string[] | null = null;
  #head: ResponseHead | undefined;

  constructor(dialer: Dialer, owner: ConnectionOwner) {
    this.#owner = owner;
    this.#parser = new ResponseParser(this);
    const socket = dialer.open(() => {
      this.#connected = true;
      if (this.#exchange) this.#write(this.#exchange);
    });
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('end', () => this.#ended());
    socket.on('timeout', () => this.#timedOut());
    socket.on('error', (error) => this.#fail(this.#connected ? error : connectFailure(error, socket)));
    socket.on('close', () => this.#closedNow());
  }

  get usable(): boolean {
    return !this.#closed && this.#exchange === undefined && !this.#socket.destroyed && !this.#socket.readableEnded;
  }

  /** Starts an exchange; the connection must be usable. */
  run(exchange: Exchange): void {
    this.#exchange = exchange;
    exchange.connection = this;
    this.#bodySent = exchange.body === null;
    this.#completed = false;
    this.#trailers = null;
    this.#head = undefined;
    this.#keepAlive = false;
    this.#socket.setTimeout(0);
    this.#parser.start(exchange.method, exchange.upgrade);
    this.#socket.resume();
    if (this.#connected) this.#write(exchange);
  }

  resume(): void {
    if (!this.#closed) this.#socket.resume();
  }

  /** Ends the connection now; the exchange on it (if any) hears nothing more from it. */
  destroy(): void {
    this.#exchange = undefined;
    this.#stopBody();
    this.#socket.destroy();
  }

  /** Waits in the pool, idle, for at most `ms`. */
  waitIdle(ms: number): void {
    this.#socket.setTimeout(ms);
  }

  /** Closes an idle connection. */
  closeIdle(): void {
    if (this.#exchange === undefined) this.#socket.destroy();
  }

  #write(exchange: Exchange): void {
    const socket = this.#socket;
    socket.write(exchange.head, 'latin1');
    const body = exchange.body;
    if (body === null || exchange.framing.kind === 'none') {
      this.#bodySent = true;
      if (body !== null) exchange.bodyTaken = true;
      return;
    }
    const chunked = exchange.framing.kind === 'chunked';
    const length = exchange.framing.kind === 'length' ? exchange.framing.length : undefined;
    this.#detachBody = pumpBody(
      body,
      length,
      {
        drains: socket,
        write: (chunk) => {
          if (!chunked) return socket.write(chunk);
          if (chunk.length === 0) return true;
          socket.cork();
          socket.write(chunkSizeLine(chunk.length));
          socket.write(chunk);
          const writable = socket.write(CHUNK_END);
          socket.uncork();
          return writable;
        },
        end: () => {
          if (chunked) socket.write(LAST_CHUNK);
          this.#bodySent = true;
        },
      },
      { taken: () => (exchange.bodyTaken = true), failed: (error) => this.#fail(error) },
    );
  }

  #stopBody(): void {
    this.#detachBody?.();
  }

  #read(chunk: Buffer): void {
    const exchange = this.#exchange;
    if (exchange === undefined) {
      // Bytes on an idle connection (a backend's parting 408, say): it is not fit to reuse.
      this.#socket.destroy();
      return;
    }
    const consumed = this.#parser.execute(chunk);
    if (typeof consumed !== 'number') {
      this.#fail(new UpstreamError(consumed.code, `invalid response: ${consumed.message}`, this.#head !== undefined));
      return;
    }
    if (this.#exchange !== exchange) return; // given up while the parser ran
    if (this.#parser.upgraded) {
      this.#handOver(exchange, chunk.subarray(consumed));
      return;
    }
    if (this.#completed) this.#complete(exchange, consumed === chunk.length);
  }

  // The parser's events (ResponseEvents).

  onHead(head: ResponseHead): void {
    const exchange = this.#exchange;
    if (exchange === undefined) return;
    this.#head = head;
    this.#keepAlive = head.keepAlive && !exchange.upgrade;
    this.keepAliveMs = head.keepAliveTimeoutMs;
    if (this.#parser.upgraded) return; // handed over once execute() returns
    this.#socket.setTimeout(exchange.idleMs);
    if (!exchange.handler.onHead(head.status, head.statusText, head.rawHeaders)) {
      // The caller gives the exchange up and aborts it; nothing more is read for it.
      this.#exchange = undefined;
      this.#stopBody();
      this.#socket.destroy();
    }
  }

  onBody(chunk: Buffer): void {
    const exchange = this.#exchange;
    if (exchange === undefined) return;
    if (!exchange.handler.onData(chunk)) this.#socket.pause();
  }

  onComplete(trailers: string[] | null): void {
    this.#completed = true;
    this.#trailers = trailers;
  }

  #complete(exchange: Exchange, nothingBeyond: boolean): void {
    this.#exchange = undefined;
    exchange.settled = true;
    exchange.connection = undefined;
    const reusable = this.#keepAlive && this.#bodySent && nothingBeyond && this.keepAliveMs !== 0;
    this.#stopBody();
    this.#reused = true;
    if (reusable) this.#owner.reusable(this);
    else this.#socket.destroy();
    exchange.handler.onComplete(this.#trailers);
  }

  #handOver(exchange: Exchange, rest: Buffer): void {
    const socket = this.#socket;
    this.#exchange = undefined;
    this.#closed = true;
    exchange.settled = true;
    exchange.connection = undefined;
    this.#stopBody();
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.removeAllListeners('timeout');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    socket.setTimeout(0);
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
    this.#owner.gone(this);
    const head = this.#head!;
    exchange.handler.onUpgrade(head.status, head.rawHeaders, socket);
  }

  #ended(): void {
    const exchange = this.#exchange;
    if (exchange === undefined) {
      // The backend closed an idle connection: out of the pool now, before a request is written on it.
      this.#socket.destroy();
      return;
    }
    if (this.#parser.idle) {
      this.#fail(new UpstreamError('WEIR_UPSTREAM_CLOSED', 'backend closed the connection before responding', false));
      return;
    }
    const error = this.#parser.finish();
    if (error === undefined && this.#completed) this.#complete(exchange, true);
    else this.#fail(new UpstreamError('WEIR_UPSTREAM_CLOSED', 'backend closed the connection before the response was complete', this.#head !== undefined));
  }

  #timedOut(): void {
    if (this.#exchange === undefined) {
      this.#socket.destroy(); // idle past the keep-alive timeout
      return;
    }
    this.#fail(new UpstreamError('WEIR_BODY_TIMEOUT', 'response body idle', true));
  }

  #fail(error: Error): void {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    this.#stopBody();
    this.#socket.destroy();
    if (exchange === undefined || exchange.settled) return;
    exchange.connection = undefined;
    const stale = this.#reused && this.#parser.idle && !exchange.bodyTaken;
    if (stale && this.#owner.retryStale(exchange)) return;
    exchange.settled = true;
    exchange.handler.onError(error);
  }

  #closedNow(): void {
    if (this.#exchange !== undefined) {
      this.#fail(new UpstreamError('WEIR_UPSTREAM_CLOSED', 'backend closed the connection', this.#head !== undefined));
    }
    if (!this.#closed) {
      this.#closed = true;
      this.#owner.gone(this);
    }
  }
}
