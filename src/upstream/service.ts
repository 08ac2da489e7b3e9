import type { ServiceConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { currentAvailabilityEpoch, type Backend } from './backend.ts';
import { balancers, type Balancer, type PickContext } from './balancers/index.ts';
import { PassiveHealth } from './health/passive-health.ts';
import { RetryBudget } from './retry-budget.ts';
import { cookieValue, stickyCookie, stickyId } from './sticky.ts';

/** Why pick() or pickRetry() found no backend: none may take requests (503), or all are at max_connections (queue). */
export type NoBackend = 'none available' | 'all busy';

interface Waiter {
  context: PickContext;
  resolve: (backend: Backend | undefined) => void;
  timer: NodeJS.Timeout;
}

/**
 * A named pool of backends and the algorithm that picks among them. Built
 * anew on every reload; its backends are not. Which backends may take a
 * request is worked out only when some backend's availability changed (or
 * an ejection ran out), not on every request.
 */
export class Service {
  readonly name: string;
  readonly config: ServiceConfig;
  readonly backends: readonly Backend[];
  readonly passiveHealth: PassiveHealth | undefined;
  readonly retryBudget: RetryBudget;
  readonly #balancer: Balancer;
  /** Sticky cookies, computed once: id to backend for requests, backend to its Set-Cookie value for responses. */
  readonly #stickyBackends: ReadonlyMap<string, Backend>;
  readonly #stickyCookies: ReadonlyMap<Backend, string>;
  #epoch = -1;
  #nextChange = Infinity;
  #candidates: readonly Backend[] = [];
  readonly #queue: Waiter[] = [];

  constructor(config: ServiceConfig, backends: readonly Backend[], log: Logger) {
    this.name = config.name;
    this.config = config;
    this.backends = backends;
    this.#balancer = balancers[config.balance]({ hashKey: config.hashKey });
    this.passiveHealth = config.passiveHealth && new PassiveHealth(config.name, backends, config.passiveHealth, log);
    this.retryBudget = new RetryBudget(config.retries.budgetPercent, config.retries.minRetriesPerSecond);
    const cookie = config.sticky?.cookie;
    const sticky =
      cookie === undefined
        ? []
        : backends.map((backend) => {
            const id = stickyId(backend.label);
            return { backend, id, setCookie: stickyCookie(cookie, id) };
          });
    this.#stickyBackends = new Map(sticky.map(({ backend, id }) => [id, backend]));
    this.#stickyCookies = new Map(sticky.map(({ backend, setCookie }) => [backend, setCookie]));
  }

  /** The backends that may take a request now: available primaries, else available backups; all primaries in panic. */
  candidates(now: number): readonly Backend[] {
    if (this.#epoch !== currentAvailabilityEpoch() || now >= this.#nextChange) this.#rebuild(now);
    return this.#candidates;
  }

  #rebuild(now: number): void {
    let nextChange = Infinity;
    for (const backend of this.backends) {
      if (backend.expireEjection(now) || backend.ejectedUntil === 0) continue;
      nextChange = Math.min(nextChange, backend.ejectedUntil);
    }
    const primaries = this.backends.filter((backend) => !backend.backup && !backend.isDraining());
    const available = primaries.filter((backend) => backend.isAvailable(now));
    const panic = primaries.length > 0 && (available.length / primaries.length) * 100 < this.config.panicThresholdPercent;
    let next: Backend[];
    if (panic) next = primaries;
    else if (available.length > 0) next = available;
    else next = this.backends.filter((backend) => backend.backup && backend.isAvailable(now));
    // Balancers cache per candidate array (hash rings, weight cycles): keep the
    // same array when a change elsewhere left this service's set as it was.
    if (!sameBackends(next, this.#candidates)) this.#candidates = next;
    this.#nextChange = nextChange;
    this.#epoch = currentAvailabilityEpoch();
  }

  /**
   * The backend for a request's first attempt, or why there is none: the
   * sticky cookie's backend when it may take it, else the balancer's choice,
   * else (that one is at max_connections) the least loaded with room.
   */
  pick(context: PickContext): Backend | NoBackend {
    const candidates = this.candidates(context.now);
    if (candidates.length === 0) return 'none available';
    const { sticky, maxConnections } = this.config;
    if (sticky) {
      const id = cookieValue(context.headers, sticky.cookie);
      const backend = id === undefined ? undefined : this.#stickyBackends.get(id);
      if (backend && candidates.includes(backend) && hasRoom(backend, maxConnections)) return backend;
    }
    const picked = this.#balancer.pick(candidates, context);
    if (hasRoom(picked, maxConnections)) return picked;
    return leastLoaded(candidates, context.now, (backend) => hasRoom(backend, maxConnections)) ?? 'all busy';
  }

  /**
   * The backend for a retry: the least loaded candidate not tried yet, else
   * (a pool of one, or every one tried) the least loaded at all, each with
   * room below max_connections. It never asks the balancer: a retry must not
   * move its state (a round-robin cursor sent back to a dead backend that
   * has not been detected yet would make it every request's first attempt).
   */
  pickRetry(context: PickContext, tried: ReadonlySet<Backend>): Backend | NoBackend {
    const candidates = this.candidates(context.now);
    if (candidates.length === 0) return 'none available';
    const { maxConnections } = this.config;
    return (
      leastLoaded(candidates, context.now, (backend) => !tried.has(backend) && hasRoom(backend, maxConnections)) ??
      leastLoaded(candidates, context.now, (backend) => hasRoom(backend, maxConnections)) ??
      'all busy'
    );
  }

  /** Waits for a backend below max_connections, up to the queue's size and timeout; undefined when it cannot. */
  waitForRoom(context: PickContext): Promise<Backend | undefined> {
    if (this.#queue.length >= this.config.queue.size) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        context,
        resolve,
        timer: setTimeout(() => {
          const index = this.#queue.indexOf(waiter);
          if (index !== -1) this.#queue.splice(index, 1);
          resolve(undefined);
        }, this.config.queue.timeoutMs),
      };
      this.#queue.push(waiter);
    });
  }

  /** A request of this service finished: a queued one may take its place. */
  released(now: number): void {
    while (this.#queue.length > 0) {
      const waiter = this.#queue[0]!;
      const backend = this.pick({ ...waiter.context, now });
      if (typeof backend === 'string') {
        if (backend === 'none available') {
          this.#queue.shift();
          clearTimeout(waiter.timer);
          waiter.resolve(undefined);
          continue;
        }
        return;
      }
      this.#queue.shift();
      clearTimeout(waiter.timer);
      waiter.resolve(backend);
      return;
    }
  }

  /** The Set-Cookie value that keeps a client on this backend, when the service is sticky. */
  stickyCookie(backend: Backend): string | undefined {
    return this.#stickyCookies.get(backend);
  }
}

function sameBackends(a: readonly Backend[], b: readonly Backend[]): boolean {
  return a.length === b.length && a.every((backend, i) => backend === b[i]);
}

/** The candidate with the fewest requests in flight per unit of effective weight among those `eligible`; the first on a tie. */
function leastLoaded(candidates: readonly Backend[], now: number, eligible: (backend: Backend) => boolean): Backend | undefined {
  let best: Backend | undefined;
  let bestLoad = Infinity;
  for (const backend of candidates) {
    if (!eligible(backend)) continue;
    const load = backend.inflight / backend.effectiveWeight(now);
    if (load < bestLoad) {
      best = backend;
      bestLoad = load;
    }
  }
  return best;
}

function hasRoom(backend: Backend, maxConnections: number | undefined): boolean {
  return maxConnections === undefined || backend.inflight < maxConnections;
}
