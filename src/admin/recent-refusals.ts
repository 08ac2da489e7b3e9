// The requests a rule refused lately (firewall, rate limits: the failures
// RefusalCounter counts), for the dashboard. An observer of the log phase
// with a fixed ring: memory does not grow with refusals.

import type { RequestObserver, RequestRecord } from '../runtime/exchange.ts';
import type { RecentRefusal } from './context.ts';

/** A URL longer than this is cut, so one request cannot make the list large. */
const MAX_URL_CHARS = 512;

export class RecentRefusals implements RequestObserver {
  readonly #capacity: number;
  readonly #ring: RecentRefusal[] = [];
  #next = 0;

  constructor(capacity = 100) {
    this.#capacity = Math.max(1, Math.floor(capacity));
  }

  requestFinished(record: RequestRecord, status: number): void {
    const { failure } = record;
    if (failure?.rule === undefined) return;
    this.add({ at: record.startedAt, status, reason: failure.reason, client: record.clientIp, url: record.request.url });
  }

  add(refusal: RecentRefusal): void {
    const entry = refusal.url.length > MAX_URL_CHARS ? { ...refusal, url: `${refusal.url.slice(0, MAX_URL_CHARS)}…` } : refusal;
    if (this.#ring.length < this.#capacity) this.#ring.push(entry);
    else this.#ring[this.#next] = entry;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** Oldest first, newest last. */
  list(): RecentRefusal[] {
    return this.#ring.length < this.#capacity ? [...this.#ring] : [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
  }
}
