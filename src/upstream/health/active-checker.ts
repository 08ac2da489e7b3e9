import net from 'node:net';
import { UpstreamError } from '../client/upstream-error.ts';
import { openPool, type UpstreamPool } from '../client/upstream-pool.ts';
import { requestWhole } from '../client/whole-response.ts';
import type { HealthCheckConfig } from '../../config/types.ts';
import type { Logger } from '../../log.ts';
import type { Backend, HealthState } from '../backend.ts';

/** A check that looks for text in the body reads this much of it at most. */
const MAX_CHECKED_BODY_BYTES = 64 * 1024;

/** The outcome of one probe: passed, and a short text saying what happened. */
interface ProbeResult {
  passed: boolean;
  detail: string;
}

/**
 * Probes every backend of one service in the background: a round of GETs in
 * parallel, then a pause of one interval, then the next round. A backend's
 * first result sets its state directly, so weir knows who is up before it
 * accepts traffic; after that it takes `unhealthyThreshold` failures in a row
 * to go down and `healthyThreshold` passes in a row to come back. The
 * Backend keeps the streaks and decides by them (recordCheck()); this class
 * probes and logs.
 */
export class ActiveHealthChecker {
  readonly #service: string;
  readonly #backends: readonly Backend[];
  readonly #config: HealthCheckConfig;
  readonly #log: Logger;
  /**
   * The checks' own connections: the same client as requests (HTTP/1.1 or
   * HTTP/2, TLS as the backend is reached), never sharing a request's connection.
   */
  readonly #pools = new Map<Backend, UpstreamPool>();
  readonly #stopped = new AbortController();
  #timer: NodeJS.Timeout | undefined;

  constructor(service: string, backends: readonly Backend[], config: HealthCheckConfig, log: Logger) {
    this.#service = service;
    this.#backends = backends;
    this.#config = config;
    this.#log = log;
  }

  /** Runs the first round, then keeps checking until stop(). */
  async start(): Promise<void> {
    await this.#round();
    this.#schedule();
  }

  /** From the moment this is called, no probe result changes a backend, even one still in flight. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#stopped.abort();
    for (const pool of this.#pools.values()) pool.destroy();
    this.#pools.clear();
  }

  #schedule(): void {
    if (this.#stopped.signal.aborted) return;
    // ±10% jitter, so that services started together do not check in lockstep.
    const delay = this.#config.intervalMs * (0.9 + Math.random() * 0.2);
    this.#timer = setTimeout(() => {
      void this.#round().then(() => this.#schedule());
    }, delay);
    // Health checks alone must not keep a host program's event loop alive.
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    await Promise.all(
      this.#backends.map(async (backend) => {
        const result = await this.#probe(backend);
        if (!this.#stopped.signal.aborted) this.#record(backend, result);
      }),
    );
  }

  #probe(backend: Backend): Promise<ProbeResult> {
    return this.#config.type === 'tcp' ? this.#probeTcp(backend) : this.#probeHttp(backend);
  }

  async #probeHttp(backend: Backend): Promise<ProbeResult> {
    const { method, path, host, expectedBody, timeoutMs, expectedStatuses } = this.#config;
    const what = `${method} ${path}`;
    try {
      let pool = this.#pools.get(backend);
      if (pool === undefined) {
        pool = openPool(backend, timeoutMs);
        this.#pools.set(backend, pool);
      }
      const headers = ['host', host ?? backend.label, 'user-agent', 'weir-health-check'];
      const response = await requestWhole(pool, { method, target: path, headers }, timeoutMs, MAX_CHECKED_BODY_BYTES, this.#stopped.signal);
      const status = response.status;
      const statusPassed = expectedStatuses.some(([low, high]) => status >= low && status <= high);
      if (expectedBody === undefined || !statusPassed) return { passed: statusPassed, detail: `${what} answered ${status}` };
      return response.body.toString('utf8').includes(expectedBody)
        ? { passed: true, detail: `${what} answered ${status}` }
        : { passed: false, detail: `${what} answered ${status} without ${JSON.stringify(expectedBody)} in the body` };
    } catch (error) {
      return { passed: false, detail: `${what} failed: ${describeProbeError(error, timeoutMs)}` };
    }
  }

  #probeTcp(backend: Backend): Promise<ProbeResult> {
    const { timeoutMs } = this.#config;
    return new Promise((resolve) => {
      const socket = net.connect({ host: backend.address.host, port: backend.address.port });
      const done = (result: ProbeResult): void => {
        socket.destroy();
        resolve(result);
      };
      socket.setTimeout(timeoutMs, () => done({ passed: false, detail: `TCP connect: no answer within ${timeoutMs}ms` }));
      socket.once('connect', () => done({ passed: true, detail: 'TCP connect succeeded' }));
      socket.once('error', (error: NodeJS.ErrnoException) => done({ passed: false, detail: `TCP connect failed: ${error.code ?? error.message}` }));
    });
  }

  #record(backend: Backend, result: ProbeResult): void {
    const now = performance.now();
    // Passive health took it out; a passing check is the evidence to bring it back early.
    if (result.passed && backend.endEjection(`an active check passed: ${result.detail}`, now)) {
      this.#log.info(
        { service: this.#service, backend: backend.label, state: 'up', reason: result.detail },
        `backend ${backend.label} of service "${this.#service}" is back from ejection: ${result.detail}`,
      );
    }
    const change = backend.recordCheck(result.passed, result.detail, this.#config, now);
    // A first check that finds a backend up is not news; every change to or from down is.
    if (change && (change.to === 'down' || change.from === 'down')) this.#logChange(backend, change.to, result.detail);
  }

  #logChange(backend: Backend, state: HealthState, detail: string): void {
    const fields = { service: this.#service, backend: backend.label, state, reason: detail };
    const message = `backend ${backend.label} of service "${this.#service}" is ${state}: ${detail}`;
    if (state === 'down') this.#log.warn(fields, message);
    else this.#log.info(fields, message);
  }
}

function describeProbeError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    if (code === 'WEIR_CONNECT_TIMEOUT') return `connect timed out after ${timeoutMs}ms`;
    if (code === 'WEIR_WHOLE_RESPONSE_TIMEOUT' || code === 'WEIR_BODY_TIMEOUT') return `no answer within ${timeoutMs}ms`;
    if (code === 'WEIR_UPSTREAM_PROTOCOL') return `invalid response: ${error.message}`;
    // Its own words: "TLS: certificate has expired (CERT_HAS_EXPIRED)", "backend reset the stream (…)".
    if (error instanceof UpstreamError) return error.message;
    return code ?? error.message;
  }
  return String(error);
}
