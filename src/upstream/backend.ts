import type { Address } from '../config/types.ts';

export type BackendState = 'up' | 'down';

/**
 * One server of one service. It lives in the BackendRegistry, not in the
 * runtime, so a config reload keeps its health and in-flight count.
 */
export class Backend {
  readonly service: string;
  readonly address: Address;
  /** "host:port", as written in the config; IPv6 hosts in brackets. */
  readonly label: string;
  /** undici origin, "http://host:port". */
  readonly origin: string;
  state: BackendState = 'up';
  /** Why the state last changed, for logs and `weir explain`. */
  reason = 'not checked yet (taken as up)';
  /** Requests sent to this backend whose response has not finished. */
  inflight = 0;
  /** Whether an active check has ever answered; the first answer sets the state directly. */
  checked = false;
  /** Consecutive active-check passes and failures, for the thresholds. */
  checkPasses = 0;
  checkFailures = 0;

  constructor(service: string, address: Address) {
    this.service = service;
    this.address = address;
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    this.label = `${host}:${address.port}`;
    this.origin = `http://${this.label}`;
  }

  get available(): boolean {
    return this.state === 'up';
  }
}
