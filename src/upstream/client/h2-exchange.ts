// One request on one HTTP/2 stream to a backend, heard through the same
// ExchangeHandler as an HTTP/1.1 exchange: the head, the body with
// backpressure both ways (a paused stream stops its flow-control window, so
// the backend waits), then the trailers. How a stream ends decides what the
// caller hears: a stream the backend refused (REFUSED_STREAM, or one above a
// GOAWAY's last stream id) was never processed (RFC 9113 section 8.7), so it
// may be sent again whatever its method, as long as no body byte was taken.
// A gRPC Trailers-Only response is passed on as a head and trailers.

import { constants, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { pumpBody } from './body-pump.ts';
import type { ExchangeHandler } from './connection.ts';
import { declaredLength, splitTrailersOnly, withoutPseudoFields } from './h2-headers.ts';
import { UpstreamError } from './upstream-error.ts';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM, HTTP2_HEADER_STATUS } = constants;

/** What an exchange needs of the session it runs on. */
export interface H2StreamHost {
  /** Opens a stream for `fields`; throws what session.request() throws. */
  openStream(fields: string[], endStream: boolean): ClientHttp2Stream;
  /**
   * Why the session's connection failed, if it did: the truest reason for
   * any stream that ended with it, said for a stream that had (or had not)
   * received its response head.
   */
  connectionFailure(afterHead: boolean): Error | undefined;
  /** Whether the connection ever became ready (connected, TLS verified, HTTP/2 agreed). */
  readonly ready: boolean;
  /** The session has ended (the connection closed or was cut). */
  readonly closed: boolean;
  /** Calls `then` once the connection is ready (now, if it is); never if it fails first. */
  afterReady(then: () => void): void;
}

/** What an exchange tells its pool. */
export interface H2ExchangeOwner {
  /** The backend refused the stream before acting on it: true when the pool sends it again itself. */
  retryRefused(exchange: H2Exchange): boolean;
}

export class H2Exchange {
  readonly handler: ExchangeHandler;
  readonly #fields: string[];
  readonly #body: Readable | null;
  readonly #owner: H2ExchangeOwner;
  readonly #idleMs: number;
  readonly #length: number | undefined;
  /** A body byte was taken from the stream: the request can no longer be sent again. */
  bodyTaken = false;
  /** Ended: the handler has heard its last event. */
  settled = false;
  /** Sent again once after a refusal; a second refusal is the caller's to handle. */
  resent = false;
  #stream: ClientHttp2Stream | undefined;
  #detachBody: (() => void) | undefined;
  #head = false;
  #trailers: string[] | null = null;

  constructor(fields: string[], body: Readable | null, idleMs: number, handler: ExchangeHandler, owner: H2ExchangeOwner) {
    this.#fields = fields;
    this.#body = body;
    this.#idleMs = idleMs;
    this.handler = handler;
    this.#owner = owner;
    this.#length = declaredLength(fields);
  }

  /** Sends the request on a new stream of `host`. A session that cannot open one counts as having refused it. */
  run(host: H2StreamHost): void {
    let stream: ClientHttp2Stream;
    try {
      stream = host.openStream(this.#fields, this.#body === null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (code === 'ERR_HTTP2_INVALID_SESSION' || code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_OUT_OF_STREAMS') this.#refused(host);
      else this.#fail(new UpstreamError('WEIR_UNWRITABLE_REQUEST', (error as Error).message, false));
      return;
    }
    this.#stream = stream;
    stream.on('response', (headers: IncomingHttpHeaders, flags: number, raw: string[]) => this.#onResponse(stream, headers, flags, raw));
    stream.on('data', (chunk: Buffer) => {
      if (!this.settled && !this.handler.onData(chunk)) stream.pause();
    });
    stream.on('trailers', (_headers: IncomingHttpHeaders, _flags: number, raw: string[]) => (this.#trailers = withoutPseudoFields(raw)));
    stream.on('end', () => this.#complete(stream));
    stream.on('timeout', () => this.#fail(new UpstreamError('WEIR_BODY_TIMEOUT', 'response body idle', true)));
    // What went wrong is read from the stream's close (its RST_STREAM code) and the session's failure.
    stream.on('error', () => undefined);
    stream.on('close', () => this.#closed(stream, host));
    const body = this.#body;
    // Not a byte before the connection is ready: a request that fails to connect may go to another backend, body and all.
    if (body !== null) {
      host.afterReady(() => {
        if (!this.settled) this.#sendBody(stream, body);
      });
    }
  }

  /** Ends the exchange; the handler hears onError(reason) unless it has already ended. */
  abort(reason: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.#stop(NGHTTP2_CANCEL);
    this.handler.onError(reason);
  }

  resume(): void {
    if (!this.settled) this.#stream?.resume();
  }

  #onResponse(stream: ClientHttp2Stream, headers: IncomingHttpHeaders, flags: number, raw: string[]): void {
    if (this.settled) return;
    this.#head = true;
    const status = Number(headers[HTTP2_HEADER_STATUS]);
    stream.setTimeout(this.#idleMs);
    let fields = withoutPseudoFields(raw);
    if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) {
      const split = splitTrailersOnly(fields);
      if (split !== undefined) {
        fields = split.head;
        this.#trailers = split.trailers;
      }
    }
    // false: the caller gives the exchange up and aborts it, which resets the stream.
    this.handler.onHead(status, STATUS_CODES[status] ?? '', fields);
  }

  #sendBody(stream: ClientHttp2Stream, body: Readable): void {
    this.#detachBody = pumpBody(
      body,
      this.#length,
      { drains: stream, write: (chunk) => stream.write(chunk), end: () => stream.end() },
      { taken: () => (this.bodyTaken = true), failed: (error) => this.#fail(error) },
    );
  }

  #complete(stream: ClientHttp2Stream): void {
    // A stream cut with its session ends too, but aborted: its close says why.
    if (this.settled || !this.#head || stream.aborted || (stream.rstCode ?? NGHTTP2_NO_ERROR) !== NGHTTP2_NO_ERROR) return;
    this.settled = true;
    // A response may end before the request body has (RFC 9113 section 8.1): the rest is not wanted.
    this.#stop(stream.writableEnded ? NGHTTP2_NO_ERROR : NGHTTP2_CANCEL);
    this.handler.onComplete(this.#trailers);
  }

  #closed(stream: ClientHttp2Stream, host: H2StreamHost): void {
    this.#detachBody?.();
    if (this.settled) return;
    const failure = host.connectionFailure(this.#head);
    const code = stream.rstCode ?? NGHTTP2_NO_ERROR;
    // Never sent, or refused: the backend did nothing with it.
    const unprocessed = !this.#head && (code === NGHTTP2_REFUSED_STREAM || stream.id === undefined);
    const neverHttp2 = failure instanceof UpstreamError && failure.code === 'WEIR_NOT_HTTP2';
    if (unprocessed && !this.bodyTaken && host.ready && !neverHttp2) {
      this.#refused(host);
      return;
    }
    if (failure !== undefined) {
      this.#fail(failure);
    } else if (host.closed) {
      const when = this.#head ? 'before the response was complete' : 'before responding';
      this.#fail(new UpstreamError('WEIR_UPSTREAM_CLOSED', `backend closed the connection ${when}`, this.#head));
    } else if (code !== NGHTTP2_NO_ERROR) {
      this.#fail(new UpstreamError('WEIR_UPSTREAM_RESET', `backend reset the stream (${errorName(code)})`, this.#head));
    } else {
      const when = this.#head ? 'before the response was complete' : 'before responding';
      this.#fail(new UpstreamError('WEIR_UPSTREAM_CLOSED', `backend closed the stream ${when}`, this.#head));
    }
  }

  #refused(host: H2StreamHost): void {
    if (this.#owner.retryRefused(this)) return;
    this.#fail(host.connectionFailure(false) ?? new UpstreamError('WEIR_STREAM_REFUSED', 'backend refused the stream (REFUSED_STREAM or GOAWAY)', false));
  }

  #fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.#stop(NGHTTP2_CANCEL);
    this.handler.onError(error);
  }

  #stop(code: number): void {
    this.#detachBody?.();
    const stream = this.#stream;
    if (stream !== undefined && !stream.closed) stream.close(code);
  }
}

/** The RFC's name of an HTTP/2 error code. */
function errorName(code: number): string {
  return H2_ERROR_CODES[code] ?? `error code ${code}`;
}

// RFC 9113 section 7.
const H2_ERROR_CODES: readonly string[] = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];
