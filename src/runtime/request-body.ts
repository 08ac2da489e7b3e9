// The client's request body on its way to a backend. Nothing is held back:
// the bytes stream through with backpressure. What this adds is knowing
// who is slow. A body that stops arriving while the backend is ready for
// more is the client's fault (408 after client_timeouts.body_idle); a body
// the backend stops taking is the backend's (504 after its idle timeout).
// It also counts bytes for max_body_size when no Content-Length declared
// the size, and says when the whole body has been handed on, which is when
// the backend's response_headers timer starts.

import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { backendFailure, clientFailure, type Failure } from '../failure.ts';

/** A failure that ended the body stream; the upstream client hands it back as the attempt's error. */
export class BodyFailure extends Error {
  override name = 'BodyFailure';
  readonly failure: Failure;
  constructor(failure: Failure) {
    super(failure.reason);
    this.failure = failure;
  }
}

export interface RequestBodyLimits {
  /** max_body_size, when it must be counted as the body streams (no Content-Length). */
  maxBytes: number | undefined;
  /** client_timeouts.body_idle. */
  clientIdleMs: number;
  /** The service's idle timeout: how long the backend may leave the body unread. */
  backendIdleMs: number;
}

export class RequestBody extends Transform {
  readonly #limits: RequestBodyLimits;
  #seen = 0;
  #lastClientByte = performance.now();
  #lastTaken = performance.now();
  #timer: NodeJS.Timeout | undefined;

  constructor(source: Readable, limits: RequestBodyLimits) {
    super();
    this.#limits = limits;
    source.pipe(this);
    this.#arm();
    const stop = (): void => clearTimeout(this.#timer);
    this.once('end', stop);
    this.once('close', stop);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const now = performance.now();
    this.#lastClientByte = now;
    this.#seen += chunk.length;
    const { maxBytes } = this.#limits;
    if (maxBytes !== undefined && this.#seen > maxBytes) {
      callback(
        new BodyFailure(
          clientFailure(413, `request body over max_body_size (${maxBytes} bytes)`, { rule: `max_body_size ${maxBytes}`, closeConnection: true }),
        ),
      );
      return;
    }
    callback(null, chunk);
  }

  override _read(size: number): void {
    this.#lastTaken = performance.now();
    super._read(size);
  }

  override _flush(callback: TransformCallback): void {
    clearTimeout(this.#timer);
    callback();
  }

  /** Stops the timers: the request is over, whatever became of the body. */
  stop(): void {
    clearTimeout(this.#timer);
  }

  #arm(): void {
    const wait = Math.min(this.#limits.clientIdleMs, this.#limits.backendIdleMs || Infinity);
    this.#timer = setTimeout(() => this.#check(), wait);
    this.#timer.unref();
  }

  #check(): void {
    if (this.writableFinished || this.destroyed) return;
    const now = performance.now();
    // Bytes waiting inside means the consumer (the backend) is not taking them.
    const backendStalled = this.writableNeedDrain || this.readableLength >= this.readableHighWaterMark;
    const { clientIdleMs, backendIdleMs } = this.#limits;
    if (backendStalled) {
      if (backendIdleMs > 0 && now - this.#lastTaken >= backendIdleMs) {
        this.destroy(new BodyFailure(backendFailure(504, `backend took none of the request body for ${backendIdleMs}ms`, 'before-response')));
        return;
      }
    } else if (now - Math.max(this.#lastClientByte, this.#lastTaken) >= clientIdleMs) {
      this.destroy(
        new BodyFailure(clientFailure(408, `request body idle for ${clientIdleMs}ms (client_timeouts.body_idle)`, { closeConnection: true })),
      );
      return;
    }
    this.#arm();
  }
}
