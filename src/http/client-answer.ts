// Where the answer to one request goes. Usually that is Node's
// ServerResponse; for an Upgrade request Node hands over the bare socket, and
// the answer is written on it by hand: a 101 turns the connection into a
// tunnel, any other answer is sent whole and the connection closed after it
// (nothing the client sent after its Upgrade request is read as HTTP).

import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { statusText } from './status-text.ts';

export interface ClientAnswer {
  /** The status line and headers are on their way: too late for another status. */
  readonly headersSent: boolean;
  /** The connection is gone or the answer is complete. */
  readonly closed: boolean;
  writeHead(status: number, reason: string | undefined, headers: readonly string[]): void;
  /** False: wait for onceDrain before writing more. */
  write(chunk: Buffer): boolean;
  onceDrain(resume: () => void): void;
  end(body?: string, trailers?: ReadonlyArray<[string, string]>): void;
  /** Cuts the connection: the only honest way to say a body that has started is incomplete. */
  destroy(): void;
  /** `callback` runs if the client goes away before the answer is complete. */
  onClientGone(callback: () => void): void;
  /** This answer is the last one on its connection. */
  closeConnection(): void;
  /** The status written, 0 before writeHead. */
  readonly status: number;
  /** Body bytes written so far. */
  readonly bytesSent: number;
  /** `callback` runs once, when the answer is complete or its connection is gone. */
  onDone(callback: () => void): void;
}

/** The ordinary case: Node's ServerResponse. */
export class ResponseAnswer implements ClientAnswer {
  readonly #res: ServerResponse;
  status = 0;
  bytesSent = 0;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  get headersSent(): boolean {
    return this.#res.headersSent;
  }

  get closed(): boolean {
    return this.#res.destroyed || this.#res.writableEnded;
  }

  writeHead(status: number, reason: string | undefined, headers: readonly string[]): void {
    this.status = status;
    this.#res.writeHead(status, reason || undefined, headers as string[]);
  }

  write(chunk: Buffer): boolean {
    this.bytesSent += chunk.length;
    return this.#res.write(chunk);
  }

  onceDrain(resume: () => void): void {
    this.#res.once('drain', resume);
  }

  end(body?: string, trailers?: ReadonlyArray<[string, string]>): void {
    if (trailers && trailers.length > 0) this.#res.addTrailers(trailers as Array<[string, string]>);
    if (body !== undefined) this.bytesSent += Buffer.byteLength(body);
    this.#res.end(body);
  }

  destroy(): void {
    this.#res.destroy();
  }

  onClientGone(callback: () => void): void {
    const res = this.#res;
    res.once('close', () => {
      if (!res.writableFinished) callback();
    });
  }

  closeConnection(): void {
    this.#res.shouldKeepAlive = false;
  }

  onDone(callback: () => void): void {
    this.#res.once('close', callback);
  }
}

/**
 * An answer written on a bare connection (an Upgrade request's). Framing is
 * by closing: the body runs until the connection ends, which HTTP/1.1
 * allows for responses, so no length needs to be known.
 */
export class SocketAnswer implements ClientAnswer {
  readonly socket: Duplex;
  status = 0;
  bytesSent = 0;
  #headersSent = false;
  #ended = false;

  constructor(socket: Duplex) {
    this.socket = socket;
  }

  get headersSent(): boolean {
    return this.#headersSent;
  }

  get closed(): boolean {
    return this.#ended || this.socket.destroyed;
  }

  writeHead(status: number, reason: string | undefined, headers: readonly string[]): void {
    this.status = status;
    this.#headersSent = true;
    this.socket.write(responseHead(status, reason, headers, status === 101 ? [] : ['connection', 'close']));
  }

  write(chunk: Buffer): boolean {
    this.bytesSent += chunk.length;
    return this.socket.write(chunk);
  }

  onceDrain(resume: () => void): void {
    this.socket.once('drain', resume);
  }

  end(body?: string): void {
    this.#ended = true;
    if (body !== undefined) this.bytesSent += Buffer.byteLength(body);
    this.socket.end(body);
  }

  destroy(): void {
    this.socket.destroy();
  }

  onClientGone(callback: () => void): void {
    this.socket.once('close', () => {
      if (!this.#ended) callback();
    });
  }

  closeConnection(): void {
    // Always the case: see writeHead.
  }

  onDone(callback: () => void): void {
    // A tunnel's answer is done when the tunnel closes, with the connection.
    this.socket.once('close', callback);
  }
}

/** "HTTP/1.1 status reason", the headers, and the blank line. */
export function responseHead(status: number, reason: string | undefined, headers: readonly string[], extra: readonly string[] = []): string {
  let head = `HTTP/1.1 ${status} ${reason || statusText(status)}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  for (let i = 0; i < extra.length; i += 2) head += `${extra[i]}: ${extra[i + 1]}\r\n`;
  return `${head}\r\n`;
}
