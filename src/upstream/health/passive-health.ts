import type { PassiveHealthConfig } from '../../config/types.ts';
import type { Logger } from '../../log.ts';
import type { Backend } from '../backend.ts';

/**
 * Outlier detection from real traffic: after `consecutiveFailures` failed
 * requests in a row a backend is ejected, for longer each time it happens
 * again, but never so many that more than `maxEjectedPercent` of the service
 * is out. It comes back when its time is up or an active check passes.
 */
export class PassiveHealth {
  readonly #service: string;
  readonly #backends: readonly Backend[];
  readonly #config: PassiveHealthConfig;
  readonly #log: Logger;

  constructor(service: string, backends: readonly Backend[], config: PassiveHealthConfig, log: Logger) {
    this.#service = service;
    this.#backends = backends;
    this.#config = config;
    this.#log = log;
  }

  succeeded(backend: Backend): void {
    backend.consecutiveFailures = 0;
  }

  failed(backend: Backend, detail: string, now: number): void {
    backend.consecutiveFailures++;
    if (backend.consecutiveFailures < this.#config.consecutiveFailures || backend.isEjected(now)) return;
    const ejected = this.#backends.filter((b) => b.isEjected(now)).length;
    if (((ejected + 1) / this.#backends.length) * 100 > this.#config.maxEjectedPercent) {
      this.#log.warn(
        { service: this.#service, backend: backend.label, reason: detail },
        `backend ${backend.label} of service "${this.#service}" keeps failing (${detail}) but stays in: max_ejected_percent ${this.#config.maxEjectedPercent}% reached`,
      );
      backend.consecutiveFailures = 0;
      return;
    }
    const lengthMs = Math.min(this.#config.baseEjectionMs * (backend.ejections + 1), this.#config.maxEjectionMs);
    backend.eject(now + lengthMs);
    backend.consecutiveFailures = 0;
    backend.reason = `ejected for ${lengthMs}ms after ${this.#config.consecutiveFailures} failed requests in a row (last: ${detail})`;
    this.#log.warn(
      { service: this.#service, backend: backend.label, state: 'ejected', ejectionMs: lengthMs, reason: detail },
      `backend ${backend.label} of service "${this.#service}" is ejected for ${lengthMs}ms: ${this.#config.consecutiveFailures} failed requests in a row, the last ${detail}`,
    );
  }
}
