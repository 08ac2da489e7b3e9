// Server-sent events for the dashboard: one snapshot at once on connect,
// then one every period to every client. The snapshot is built and
// serialized once per tick whatever the number of clients; the timer runs
// only while someone listens. Bounded: a cap on clients, and a client that
// stops reading is dropped rather than buffered for.

import type http from 'node:http';
import type { Logger } from '../log.ts';

export interface EventHubOptions {
  /** Clients at once; one more gets 503 (default 20). */
  maxClients?: number;
  /** Time between snapshots, ms (default 1000). */
  periodMs?: number;
  /** Bytes a client may leave unread before it is dropped (default 1 MiB). */
  maxBufferedBytes?: number;
}

export class EventHub {
  readonly #build: () => unknown;
  readonly #log: Logger;
  readonly #maxClients: number;
  readonly #periodMs: number;
  readonly #maxBufferedBytes: number;
  readonly #clients = new Set<http.ServerResponse>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(build: () => unknown, log: Logger, options: EventHubOptions = {}) {
    this.#build = build;
    this.#log = log;
    this.#maxClients = options.maxClients ?? 20;
    this.#periodMs = options.periodMs ?? 1_000;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Takes over the response as an event stream; false (nothing written) when the hub is full or closed. */
  add(res: http.ServerResponse): boolean {
    if (this.#closed || this.#clients.size >= this.#maxClients) return false;
    const message = this.#message();
    if (message === undefined) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Proxies in front (nginx) must pass each event on at once.
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    this.#clients.add(res);
    res.on('close', () => this.#remove(res));
    // EventSource reconnects after this many ms; the dashboard's own reader does the same.
    res.write(`retry: 2000\n\n${message}`);
    this.#timer ??= setInterval(() => this.#tick(), this.#periodMs);
    return true;
  }

  /** Ends every stream and stops the timer. */
  close(): void {
    this.#closed = true;
    for (const res of this.#clients) res.end();
    this.#clients.clear();
    this.#stop();
  }

  #tick(): void {
    const message = this.#message();
    if (message === undefined) return;
    for (const res of this.#clients) {
      if (res.writableLength > this.#maxBufferedBytes) {
        // It stopped reading: drop it rather than buffer for it without bound.
        res.destroy();
        continue;
      }
      res.write(message);
    }
  }

  /** One snapshot as an SSE message, or undefined when building it failed (logged). */
  #message(): string | undefined {
    try {
      return `data: ${JSON.stringify(this.#build())}\n\n`;
    } catch (error) {
      this.#log.error({ err: error }, `admin: building the dashboard snapshot failed: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  #remove(res: http.ServerResponse): void {
    this.#clients.delete(res);
    if (this.#clients.size === 0) this.#stop();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
