// A request body on its way to a backend, for HTTP/1.1 connections and
// HTTP/2 streams alike: read from the client with backpressure (paused while
// the backend side is full, resumed on its 'drain'), held to the length it
// announced, and detachable at any moment without losing a byte.

import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';

export interface BodySink {
  /** Emits 'drain' once a full write side can take more. */
  readonly drains: EventEmitter;
  /** Writes one piece; false: wait for 'drain'. */
  write(chunk: Buffer): boolean;
  /** The whole body went out. */
  end(): void;
}

export interface BodyPumpEvents {
  /** A body byte was taken from the client: the request can no longer be sent again elsewhere. */
  taken(): void;
  failed(error: Error): void;
}

/** Streams `body` into `sink`; returns detach(), which leaves the body paused. `length`: the Content-Length announced, if any. */
export function pumpBody(body: Readable, length: number | undefined, sink: BodySink, events: BodyPumpEvents): () => void {
  let sent = 0;
  const onData = (chunk: Buffer): void => {
    events.taken();
    sent += chunk.length;
    if (length !== undefined && sent > length) {
      events.failed(lengthError('longer'));
      return;
    }
    if (!sink.write(chunk)) body.pause();
  };
  const onDrain = (): void => {
    body.resume();
  };
  const onEnd = (): void => {
    events.taken();
    detach();
    if (length !== undefined && sent !== length) {
      events.failed(lengthError('shorter'));
      return;
    }
    sink.end();
  };
  const onError = (error: Error): void => events.failed(error);
  let attached = true;
  function detach(): void {
    if (!attached) return;
    attached = false;
    // Paused, so that no byte is lost while nobody listens (a stale
    // connection's request is sent again on a new one).
    body.pause();
    body.off('data', onData);
    body.off('end', onEnd);
    body.off('error', onError);
    sink.drains.off('drain', onDrain);
  }
  body.on('data', onData);
  body.once('end', onEnd);
  body.once('error', onError);
  sink.drains.on('drain', onDrain);
  body.resume();
  return detach;
}

function lengthError(which: 'longer' | 'shorter'): Error {
  return Object.assign(new Error(`request body is ${which} than its Content-Length`), { code: 'WEIR_BODY_LENGTH' });
}
