// One client connection's requests, served one at a time and in order.
//
// Node's HTTP server parses every request a client pipelines and announces
// each at once; served as they come, 2,000 pipelined GETs would become 2,000
// backend requests in parallel from one client. Like nginx, weir serves a
// connection's requests one after another: the next starts when the answer
// to the one before is complete. A bounded number may wait; a client that
// sends more gets the answers it is owed and then the connection closes.

import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ResponseAnswer } from '../http/client-answer.ts';

type Serve = (answer: ResponseAnswer) => void;

/**
 * Reads nothing more from a client that does not wait for its answers. Node
 * resumes a paused connection once its answers drain, and its parser would
 * then take in every request still on the wire (60,000 pipelined GETs are
 * 60,000 request objects): this connection stays paused until it closes.
 */
function stopReading(socket: Socket): void {
  socket.pause();
  socket.resume = () => socket;
}

interface Waiting {
  res: ServerResponse;
  serve: Serve;
}

export class ClientConnection {
  readonly #socket: Socket;
  readonly #limit: () => number;
  readonly #onOverflow: (socket: Socket) => void;
  readonly #waiting: Waiting[] = [];
  /** The answer being served now. */
  #current: ServerResponse | undefined;
  #busy = false;
  /** Past the limit: no request is taken any more, the connection ends after the answers owed. */
  #closing = false;

  constructor(socket: Socket, limit: () => number, onOverflow: (socket: Socket) => void) {
    this.#socket = socket;
    this.#limit = limit;
    this.#onOverflow = onOverflow;
  }

  /** Serves the request now if the connection is free, later if there is room to wait, never if not. */
  accept(res: ServerResponse, serve: Serve): void {
    if (this.#closing) return;
    if (!this.#busy) {
      this.#run(res, serve);
      return;
    }
    if (this.#waiting.length < this.#limit()) {
      this.#waiting.push({ res, serve });
      return;
    }
    // Requests past this one are never answered: the last answer owed
    // carries "Connection: close" and Node ends the connection after it.
    this.#closing = true;
    const last = this.#waiting.at(-1)?.res ?? this.#current;
    if (last === undefined) this.#socket.end();
    else if (!last.headersSent) last.shouldKeepAlive = false;
    // Too late for "Connection: close" on an answer already on its way: end once it is complete.
    else last.once('finish', () => this.#socket.end());
    stopReading(this.#socket);
    this.#onOverflow(this.#socket);
  }

  #run(res: ServerResponse, serve: Serve): void {
    this.#busy = true;
    this.#current = res;
    res.once('close', () => this.#next());
    serve(new ResponseAnswer(res));
  }

  #next(): void {
    this.#busy = false;
    this.#current = undefined;
    const next = this.#waiting.shift();
    if (next === undefined) return;
    if (next.res.destroyed) {
      // The connection is gone; what waited on it goes with it.
      this.#waiting.length = 0;
      return;
    }
    this.#run(next.res, next.serve);
  }
}
