// The answer to a request that came as an HTTP/2 stream. The driver writes
// it as it writes any answer; what differs is HTTP/2's own framing:
//
// - no connection-specific fields (RFC 9113 section 8.2.2): Connection,
//   Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade and TE never go
//   out (Node would throw on them), and no reason phrase exists;
// - trailers are a HEADERS frame of their own, so the stream is opened
//   "waiting for trailers" and ends with them, or with an empty DATA frame
//   when there are none;
// - cutting an answer short is RST_STREAM on this stream alone, and the
//   connection stays: closeConnection() has nothing to do;
// - an answer complete before the client has sent all of its body ends the
//   stream with RST_STREAM(NO_ERROR), as RFC 9113 section 8.1 allows, so the
//   stream does not stay open (and count against the client's concurrent
//   streams) waiting for a body nobody reads any more.

import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { ClientAnswer } from './client-answer.ts';

const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te']);

export class H2Answer implements ClientAnswer {
  readonly #stream: ServerHttp2Stream;
  readonly #headRequest: boolean;
  status = 0;
  bytesSent = 0;
  /** A HEAD request, or a status that has no body: the stream ended with the headers. */
  #bodyless = false;
  #ended = false;
  #trailers: OutgoingHttpHeaders = {};

  constructor(stream: ServerHttp2Stream, headRequest: boolean) {
    this.#stream = stream;
    this.#headRequest = headRequest;
  }

  get headersSent(): boolean {
    return this.#stream.headersSent;
  }

  get closed(): boolean {
    return this.#ended || this.#stream.closed || this.#stream.destroyed;
  }

  writeHead(status: number, _reason: string | undefined, headers: readonly string[]): void {
    this.status = status;
    const stream = this.#stream;
    if (stream.closed || stream.destroyed) return;
    const fields: string[] = [':status', String(status)];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!.toLowerCase();
      if (CONNECTION_SPECIFIC.has(name)) continue;
      // RFC 9110 section 8.6: never on a 204; an HTTP/2 client takes one as a malformed answer.
      if (status === 204 && name === 'content-length') continue;
      fields.push(name, headers[i + 1]!);
    }
    // Node ends the stream with the headers itself for these; a body written after would be an error.
    this.#bodyless = this.#headRequest || status === 204 || status === 205 || status === 304;
    try {
      // A flat list keeps repeated fields as the backend sent them (the
      // listener turns off Node's single-value check, as HTTP/1.1 has none).
      stream.respond(fields as unknown as OutgoingHttpHeaders, { waitForTrailers: !this.#bodyless });
    } catch {
      // A field Node refuses to send (a name that is not a token): there is
      // no honest way left to answer; the stream is reset as a broken answer.
      stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    if (!this.#bodyless) stream.once('wantTrailers', () => this.#sendTrailers());
  }

  write(chunk: Buffer): boolean {
    if (this.#bodyless || this.#stream.destroyed) return true;
    this.bytesSent += chunk.length;
    return this.#stream.write(chunk);
  }

  onceDrain(resume: () => void): void {
    this.#stream.once('drain', resume);
  }

  end(body?: string, trailers?: ReadonlyArray<[string, string]>): void {
    if (this.#ended) return;
    this.#ended = true;
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) return;
    if (trailers) {
      for (const [name, value] of trailers) {
        const lower = name.toLowerCase();
        if (CONNECTION_SPECIFIC.has(lower) || lower.startsWith(':')) continue;
        const previous = this.#trailers[lower];
        this.#trailers[lower] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [String(previous)]), value];
      }
    }
    if (this.#bodyless) {
      this.#stopUnreadBody();
      return;
    }
    if (body !== undefined) this.bytesSent += Buffer.byteLength(body);
    stream.end(body);
  }

  destroy(): void {
    const stream = this.#stream;
    if (!stream.destroyed && !stream.closed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }

  onClientGone(callback: () => void): void {
    const stream = this.#stream;
    if (stream.closed || stream.destroyed) {
      // Reset before weir got to it (a client resetting streams as fast as it opens them).
      if (!this.#ended) queueMicrotask(callback);
      return;
    }
    stream.once('close', () => {
      if (!this.#ended) callback();
    });
  }

  closeConnection(): void {
    // The connection carries other streams; this answer's end is its stream's end.
  }

  onDone(callback: () => void): void {
    const stream = this.#stream;
    if (stream.destroyed) queueMicrotask(callback);
    else stream.once('close', callback);
  }

  #sendTrailers(): void {
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) return;
    // With no trailers Node sends an empty DATA frame that ends the stream.
    stream.sendTrailers(this.#trailers);
    // sendTrailers submits them on the next turn of the loop; the reset, if any, must come after.
    setImmediate(() => this.#stopUnreadBody());
  }

  /** The answer is complete: a request body still arriving is not wanted any more (RST_STREAM NO_ERROR). */
  #stopUnreadBody(): void {
    const stream = this.#stream;
    if (stream.endAfterHeaders || stream.readableEnded || stream.closed || stream.destroyed) return;
    stream.close(constants.NGHTTP2_NO_ERROR);
  }
}
