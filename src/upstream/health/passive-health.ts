import type { PassiveHealthConfig } from '../../config/types.ts';
import type { Logger } from '../../log.ts';
import type { Backend } from '../backend.ts';

/**
 * Outlier detection from real traffic: after `consecutiveFailures` failed
 * requests in a row a backend is ejected, for longer each time it happens
 * again, but never so many that more than `maxEjectedPercent` of the service
 * is out. It comes back when its time is up or an active check passes.
 * The streak and the ejection count live on the Backend (they outlive a
 * reload); this class only decides, and the Backend records. A replica's
 * (a worker's backend, see RemoteStateOwner) failures go to the owner of its
 * state, the primary, whose PassiveHealth decides for the whole group.
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
    if (backend.owner) {
      // A replica tells its owner only of the first success after failures: nothing per request otherwise.
      if (backend.failureStreak === 0) return;
      backend.recordSuccess();
      backend.owner.passiveSuccess(backend);
      return;
    }
    backend.recordSuccess();
  }

  failed(backend: Backend, detail: string, now: number): void {
    if (backend.owner) {
      // A replica's state is decided by its owner (a worker group's primary), which counts every worker's failures.
      backend.recordFailure();
      backend.owner.passiveFailure(backend, detail);
      return;
    }
    const { consecutiveFailures, maxEjectedPercent, baseEjectionMs, maxEjectionMs } = this.#config;
    const streak = backend.recordFailure();
    if (streak < consecutiveFailures || backend.isEjected(now)) return;
    const ejected = this.#backends.filter((b) => b.isEjected(now)).length;
    if (((ejected + 1) / this.#backends.length) * 100 > maxEjectedPercent) {
      this.#log.warn(
        { service: this.#service, backend: backend.label, reason: detail },
        `backend ${backend.label} of service "${this.#service}" keeps failing (${detail}) but stays in: max_ejected_percent ${maxEjectedPercent}% reached`,
      );
      backend.forgiveFailures();
      return;
    }
    // The n-th ejection lasts n times the base, so a backend that keeps coming back broken is tried less and less often.
    const lengthMs = Math.min(baseEjectionMs * (backend.ejections + 1), maxEjectionMs);
    backend.eject(now + lengthMs, `ejected for ${lengthMs}ms after ${consecutiveFailures} failed requests in a row (last: ${detail})`, now);
    this.#log.warn(
      { service: this.#service, backend: backend.label, state: 'ejected', ejectionMs: lengthMs, reason: detail },
      `backend ${backend.label} of service "${this.#service}" is ejected for ${lengthMs}ms: ${consecutiveFailures} failed requests in a row, the last ${detail}`,
    );
  }
}
