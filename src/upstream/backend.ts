import type { Address } from '../config/types.ts';
import { PeakEwma } from './peak-ewma.ts';

export type BackendState = 'up' | 'down';

/** Bumped on every change of any backend's availability, so services know when to rebuild their candidate lists. */
let availabilityEpoch = 0;
export function currentAvailabilityEpoch(): number {
  return availabilityEpoch;
}

/**
 * One server of one service. It lives in the BackendRegistry, not in the
 * runtime, so a config reload keeps its health, ejections, latency and
 * in-flight count.
 */
export class Backend {
  readonly service: string;
  readonly address: Address;
  /** "host:port", as written in the config; IPv6 hosts in brackets. */
  readonly label: string;
  /** undici origin, "http://host:port". */
  readonly origin: string;
  /** From the config (a reload may change it). 0 drains the backend: no new requests. */
  weight = 1;
  /** From the config: takes traffic only when no primary backend is available. */
  backup = false;
  /** Slow-start window from the config, ms (0 = none). */
  slowStartMs = 0;

  #state: BackendState = 'up';
  /** Why the state last changed, for logs and `weir explain`. */
  reason = 'not checked yet (taken as up)';
  /** performance.now() when it last came up, for slow start. */
  upSince = -Infinity;
  /** Requests sent to this backend whose response has not finished. */
  inflight = 0;
  readonly latency = new PeakEwma();

  /** Whether an active check has ever answered; the first answer sets the state directly. */
  checked = false;
  /** Consecutive active-check passes and failures, for the thresholds. */
  checkPasses = 0;
  checkFailures = 0;

  /** Passive health: consecutive failed requests, ejections so far, and until when it is ejected (performance.now()). */
  consecutiveFailures = 0;
  ejections = 0;
  ejectedUntil = 0;

  constructor(service: string, address: Address) {
    this.service = service;
    this.address = address;
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    this.label = `${host}:${address.port}`;
    this.origin = `http://${this.label}`;
  }

  get state(): BackendState {
    return this.#state;
  }

  set state(next: BackendState) {
    if (next === this.#state) return;
    this.#state = next;
    if (next === 'up') this.upSince = performance.now();
    availabilityEpoch++;
  }

  /** Whether passive health has ejected it at `now`. */
  isEjected(now: number): boolean {
    return this.ejectedUntil > now;
  }

  eject(until: number): void {
    this.ejectedUntil = until;
    this.ejections++;
    availabilityEpoch++;
  }

  /** Ends an ejection early (an active check passed) or records that it ran out. */
  endEjection(): void {
    if (this.ejectedUntil === 0) return;
    this.ejectedUntil = 0;
    this.upSince = performance.now();
    availabilityEpoch++;
  }

  /** Up, not ejected, and not drained. */
  isAvailable(now: number): boolean {
    return this.#state === 'up' && this.weight > 0 && !this.isEjected(now);
  }

  /** The weight to balance by at `now`: the configured weight, ramped up from 10% during slow start. */
  effectiveWeight(now: number): number {
    if (this.slowStartMs <= 0) return this.weight;
    const since = now - this.upSince;
    if (since >= this.slowStartMs) return this.weight;
    return this.weight * Math.max(0.1, since / this.slowStartMs);
  }

  /** Invalidates every service's candidate list, for changes made outside the setters (config weights). */
  static touch(): void {
    availabilityEpoch++;
  }
}
