import type { Address } from '../config/types.ts';
import { PLAIN_HTTP1, type UpstreamEndpoint } from './client/endpoint.ts';
import { PeakEwma } from './peak-ewma.ts';

/**
 * The one state a backend is in, as logs, `weir explain` and the admin API
 * name it:
 *
 * - `unchecked`: no active check has answered yet, or its service has no
 *   active checks. Taken as up.
 * - `up`: active checks pass.
 * - `down`: active checks failed `unhealthy_threshold` times in a row (the
 *   very first check decides on its own).
 * - `ejected`: passive health took it out of rotation until a time.
 * - `draining`: weight 0 in the config, or drained by an operator. No new
 *   requests; those in flight finish.
 *
 * It is derived from three layers, the top one that applies winning:
 * draining, then ejected, then what active checks say (HealthState).
 */
export type BackendState = 'unchecked' | 'up' | 'down' | 'ejected' | 'draining';

/** What active checks say: the layer under ejection and draining. */
export type HealthState = 'unchecked' | 'up' | 'down';

/** One entry of a backend's recent history: the state it went into, why, and when (Date.now()). */
export interface StateChange {
  readonly state: BackendState;
  readonly reason: string;
  readonly at: number;
}

/** A backend's settings from the config, applied by configure(). */
export interface BackendConfig {
  /** Share of traffic relative to the others; 0 drains. */
  readonly weight: number;
  /** Takes traffic only when no primary backend is available. */
  readonly backup: boolean;
  /** Slow-start window, ms (0 = none). */
  readonly slowStartMs: number;
}

/** The active check thresholds recordCheck() needs (a HealthCheckConfig has them). */
export interface CheckThresholds {
  /** Passes in a row that bring a down backend up. */
  readonly healthyThreshold: number;
  /** Failures in a row that take an up backend down. */
  readonly unhealthyThreshold: number;
}

/** A change of what active checks say, as recordCheck() reports it. */
export interface HealthChange {
  readonly from: HealthState;
  readonly to: HealthState;
}

/**
 * Where a backend's state is decided when it is not decided in this process:
 * in a worker of a group (`weir start --workers`), the primary owns every
 * backend's state, and a worker's backends are replicas of it (mirror()).
 * Passive health reports what requests saw to the owner instead of ejecting.
 */
export interface RemoteStateOwner {
  /** A request to the backend failed, as passive health counts failures. */
  passiveFailure(backend: Backend, detail: string): void;
  /** A request to the backend succeeded after one or more failed. */
  passiveSuccess(backend: Backend): void;
}

/** How a backend is created: with the owner of its state when that is elsewhere, and who to tell of each change. */
export interface BackendHooks {
  /** Set on a replica: its state comes from mirror(), and passive health reports to this owner. */
  readonly owner?: RemoteStateOwner | undefined;
  /** Called after every change of state or settings (from the one place changes are recorded). */
  readonly onChange?: ((backend: Backend) => void) | undefined;
}

/**
 * A backend's state as its owner holds it, as plain data for another
 * process: what active checks say, the ejection, the operator's drain. Times
 * are Date.now() milliseconds (a performance.now() is only good in one process).
 */
export interface BackendStateSnapshot {
  readonly service: string;
  readonly host: string;
  readonly port: number;
  readonly health: HealthState;
  readonly healthReason: string;
  /** Until when it is ejected, Date.now() ms; 0: not ejected. */
  readonly ejectedUntil: number;
  readonly ejectionReason: string;
  readonly ejections: number;
  readonly drained: boolean;
  readonly drainReason: string;
}

/** How many state changes a backend remembers, for the admin API. */
const HISTORY_LENGTH = 10;

/** Bumped on every change of any backend's availability, so services know when to rebuild their candidate lists. */
let availabilityEpoch = 0;
export function currentAvailabilityEpoch(): number {
  return availabilityEpoch;
}

/** States in which a backend takes new requests. */
function serving(state: BackendState): boolean {
  return state === 'up' || state === 'unchecked';
}

/**
 * One server of one service. It lives in the BackendRegistry, not in the
 * runtime, so a config reload keeps its health, ejections, latency and
 * in-flight count.
 *
 * It is the one owner of its state: active checks, passive health, the
 * config and an operator each change it only through a method here, which
 * keeps the reason, the time and a short history, and bumps the
 * availability epoch so services rebuild their candidate lists.
 */
export class Backend {
  readonly service: string;
  readonly address: Address;
  /** "host:port", as written in the config; IPv6 hosts in brackets. */
  readonly label: string;
  /**
   * How it is reached: protocol and TLS settings. Part of its identity: a
   * reload that changes them (or the files they name) makes a new backend,
   * whose health is checked afresh over the new settings.
   */
  readonly endpoint: UpstreamEndpoint;
  /** The address and the endpoint: backends with equal keys may share connections. */
  readonly poolKey: string;
  /** Requests sent to this backend whose response has not finished. */
  inflight = 0;
  readonly latency = new PeakEwma();
  /** Set on a replica (a worker's backend): the owner of its state, see RemoteStateOwner. */
  readonly owner: RemoteStateOwner | undefined;
  readonly #onChange: ((backend: Backend) => void) | undefined;

  // Settings from the config (configure()).
  #weight = 1;
  #backup = false;
  #slowStartMs = 0;

  // The health layer: what active checks say, with their streaks.
  #health: HealthState = 'unchecked';
  #healthReason = 'not checked yet (taken as up)';
  #checkPasses = 0;
  #checkFailures = 0;

  // The ejection layer: passive health. 0 = not ejected (performance.now() ms otherwise).
  #ejectedUntil = 0;
  #ejectionReason = '';
  #ejections = 0;
  #failureStreak = 0;

  // The draining layer: an operator's drain (weight 0 drains too, see isDraining()).
  #drained = false;
  #drainReason = '';

  /** How to cut each request or tunnel open on this backend, for when a reload removes it. */
  readonly #open = new Set<() => void>();

  /** performance.now() when it last started taking requests again, for slow start. */
  #upSince = -Infinity;
  #since = Date.now();
  readonly #history: StateChange[] = [];

  constructor(service: string, address: Address, hooks: BackendHooks = {}, endpoint: UpstreamEndpoint = PLAIN_HTTP1) {
    this.service = service;
    this.address = address;
    this.owner = hooks.owner;
    this.#onChange = hooks.onChange;
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    this.label = `${host}:${address.port}`;
    this.endpoint = endpoint;
    this.poolKey = `${this.label} ${endpoint.key}`;
  }

  // ---- Requests open on it ----

  /** Registers a request or tunnel open on this backend; the returned function unregisters it. */
  track(cut: () => void): () => void {
    this.#open.add(cut);
    return () => this.#open.delete(cut);
  }

  /** Cuts every request and tunnel still open on it: a reload removed it and its drain deadline passed. */
  cutOpen(): number {
    const open = [...this.#open];
    this.#open.clear();
    for (const cut of open) cut();
    return open.length;
  }

  // ---- Reading the state ----

  /** The state now. */
  get state(): BackendState {
    return this.stateAt(performance.now());
  }

  /** The state at `now` (performance.now() ms): an ejection may have run out by then. */
  stateAt(now: number): BackendState {
    return this.#derive(this.isEjected(now));
  }

  /** What active checks say, whatever the layers above. */
  get health(): HealthState {
    return this.#health;
  }

  /** Why it is in its current state, for logs, `weir explain` and the admin API. */
  get reason(): string {
    return this.reasonAt(performance.now());
  }

  /** Why it is in its state at `now`: the reason kept by the layer on top. */
  reasonAt(now: number): string {
    if (this.isDraining()) return this.#drained ? this.#drainReason : `weight ${this.#weight} in the config`;
    if (this.isEjected(now)) return this.#ejectionReason;
    return this.#healthReason;
  }

  /** Date.now() of its last change of state. */
  get since(): number {
    return this.#since;
  }

  /** Its last changes of state, oldest first (at most 10). */
  get history(): readonly StateChange[] {
    return this.#history;
  }

  get weight(): number {
    return this.#weight;
  }

  get backup(): boolean {
    return this.#backup;
  }

  get slowStartMs(): number {
    return this.#slowStartMs;
  }

  /** performance.now() when it last started taking requests again (-Infinity: since it was created). */
  get upSince(): number {
    return this.#upSince;
  }

  /** Until when passive health ejected it (performance.now() ms); 0 when it is not ejected. */
  get ejectedUntil(): number {
    return this.#ejectedUntil;
  }

  /** How many times passive health has ejected it; each ejection lasts longer. */
  get ejections(): number {
    return this.#ejections;
  }

  /** Failed requests in a row, for passive health. */
  get failureStreak(): number {
    return this.#failureStreak;
  }

  /** Whether an operator drained it (weight 0 drains too, see isDraining()). */
  get drained(): boolean {
    return this.#drained;
  }

  /** Weight 0 or drained: no new requests. */
  isDraining(): boolean {
    return this.#drained || this.#weight <= 0;
  }

  /** Whether passive health has it out at `now`. */
  isEjected(now: number): boolean {
    return this.#ejectedUntil > now;
  }

  /** Whether it may take a new request at `now`: unchecked or up, not ejected, not draining. */
  isAvailable(now: number): boolean {
    return serving(this.stateAt(now));
  }

  /** The weight to balance by at `now`: the configured weight, ramped up from 10% during slow start. */
  effectiveWeight(now: number): number {
    if (this.#slowStartMs <= 0) return this.#weight;
    const since = now - this.#upSince;
    if (since >= this.#slowStartMs) return this.#weight;
    return this.#weight * Math.max(0.1, since / this.#slowStartMs);
  }

  // ---- The config ----

  /**
   * Applies a config's settings (the apply step calls this, never compile).
   * True when something changed; only then do services rebuild their lists.
   */
  configure(config: BackendConfig, now = performance.now()): boolean {
    if (config.weight === this.#weight && config.backup === this.#backup && config.slowStartMs === this.#slowStartMs) return false;
    const before = this.stateAt(now);
    this.#weight = config.weight;
    this.#backup = config.backup;
    this.#slowStartMs = config.slowStartMs;
    this.#changed(before, now);
    return true;
  }

  // ---- Active checks ----

  /**
   * Counts one active check. The first answer (while unchecked) sets the
   * state directly, so weir knows who is up before it takes traffic; after
   * that it takes `unhealthyThreshold` failures in a row to go down and
   * `healthyThreshold` passes in a row to come back. Returns the change, if
   * any, for the checker to log.
   */
  recordCheck(passed: boolean, detail: string, thresholds: CheckThresholds, now = performance.now()): HealthChange | undefined {
    if (passed) {
      this.#checkFailures = 0;
      this.#checkPasses++;
    } else {
      this.#checkPasses = 0;
      this.#checkFailures++;
    }
    const from = this.#health;
    let to = from;
    if (from === 'unchecked') to = passed ? 'up' : 'down';
    else if (from === 'down' && passed && this.#checkPasses >= thresholds.healthyThreshold) to = 'up';
    else if (from === 'up' && !passed && this.#checkFailures >= thresholds.unhealthyThreshold) to = 'down';
    if (to === from) return undefined;
    this.#setHealth(to, from === 'unchecked' && passed ? `first check: ${detail}` : detail, now);
    return { from, to };
  }

  /**
   * Its service no longer checks it (a reload removed `health_check`): back
   * to unchecked, taken as up, with the streaks cleared, so a backend that
   * was down is not left down with nothing to bring it back. Call it after
   * stop() on the checker that was checking it: stop() drops the results of
   * probes still in flight, which would otherwise land after this.
   */
  stopActiveChecks(reason: string, now = performance.now()): void {
    this.#checkPasses = 0;
    this.#checkFailures = 0;
    if (this.#health !== 'unchecked') this.#setHealth('unchecked', reason, now);
  }

  #setHealth(health: HealthState, reason: string, now: number): void {
    const before = this.stateAt(now);
    this.#health = health;
    this.#healthReason = reason;
    this.#changed(before, now);
  }

  // ---- Passive health ----

  /** A request succeeded: the failure streak starts over. */
  recordSuccess(): void {
    this.#failureStreak = 0;
  }

  /** A request failed; returns the failure streak, this one included. */
  recordFailure(): number {
    return ++this.#failureStreak;
  }

  /** Passive health let it stay in although its streak called for an ejection: the streak starts over. */
  forgiveFailures(): void {
    this.#failureStreak = 0;
  }

  /** Takes it out until `until` (performance.now() ms); counts the ejection and clears the streak. */
  eject(until: number, reason: string, now = performance.now()): void {
    const before = this.stateAt(now);
    this.#ejectedUntil = until;
    this.#ejectionReason = reason;
    this.#ejections++;
    this.#failureStreak = 0;
    this.#changed(before, now);
  }

  /** Ends an ejection early (an active check passed). False when it was not ejected. */
  endEjection(reason: string, now = performance.now()): boolean {
    if (this.#ejectedUntil === 0) return false;
    this.#clearEjection(reason, Math.min(now, this.#ejectedUntil));
    return true;
  }

  /**
   * Records that its ejection ran out by `now`, if it did; true then. Slow
   * start counts from the moment it ran out, not from when this noticed.
   */
  expireEjection(now: number): boolean {
    if (this.#ejectedUntil === 0 || this.#ejectedUntil > now) return false;
    this.#clearEjection(`ejection over`, this.#ejectedUntil);
    return true;
  }

  #clearEjection(reason: string, at: number): void {
    const before = this.#derive(true);
    this.#ejectedUntil = 0;
    this.#ejectionReason = reason;
    // Failures of requests that were in flight when it was ejected say nothing about it now.
    this.#failureStreak = 0;
    this.#changed(before, at);
  }

  // ---- An operator ----

  /** No new requests until enable(); those in flight finish. Survives config reloads (the backend object does). */
  drain(reason: string, now = performance.now()): void {
    if (this.#drained) return;
    const before = this.stateAt(now);
    this.#drained = true;
    this.#drainReason = reason;
    this.#changed(before, now);
  }

  /** Undoes drain(). A backend of weight 0 stays draining. */
  enable(reason: string, now = performance.now()): void {
    if (!this.#drained) return;
    const before = this.stateAt(now);
    this.#drained = false;
    this.#drainReason = reason;
    this.#changed(before, now);
  }

  // ---- Another process's view: the owner's snapshot, a replica's mirror ----

  /** Its state as plain data, for the replicas in other processes. */
  snapshot(): BackendStateSnapshot {
    return {
      service: this.service,
      host: this.address.host,
      port: this.address.port,
      health: this.#health,
      healthReason: this.#healthReason,
      ejectedUntil: this.#ejectedUntil === 0 ? 0 : performance.timeOrigin + this.#ejectedUntil,
      ejectionReason: this.#ejectionReason,
      ejections: this.#ejections,
      drained: this.#drained,
      drainReason: this.#drainReason,
    };
  }

  /**
   * Takes the owner's state (a replica: see RemoteStateOwner), recorded like
   * any change here: history, slow start, the services' candidate lists. An
   * ejection that has run out by now is taken as over.
   */
  mirror(state: BackendStateSnapshot, now = performance.now()): void {
    const before = this.stateAt(now);
    const until = state.ejectedUntil === 0 ? 0 : state.ejectedUntil - performance.timeOrigin;
    this.#health = state.health;
    this.#healthReason = state.healthReason;
    this.#ejectedUntil = until > now ? until : 0;
    this.#ejectionReason = state.ejectionReason;
    this.#ejections = state.ejections;
    this.#drained = state.drained;
    this.#drainReason = state.drainReason;
    this.#changed(before, now);
  }

  // ---- The one place a change is recorded ----

  #derive(ejected: boolean): BackendState {
    if (this.isDraining()) return 'draining';
    if (ejected) return 'ejected';
    return this.#health;
  }

  /**
   * After any change: a backend that starts taking requests again ramps up
   * from there (slow start); a new state goes into the history with its
   * reason; services rebuild their candidate lists.
   */
  #changed(before: BackendState, now: number): void {
    const after = this.stateAt(now);
    if (after !== before) {
      if (serving(after) && !serving(before)) this.#upSince = now;
      this.#since = Date.now();
      this.#history.push({ state: after, reason: this.reasonAt(now), at: this.#since });
      if (this.#history.length > HISTORY_LENGTH) this.#history.shift();
    }
    availabilityEpoch++;
    this.#onChange?.(this);
  }
}
