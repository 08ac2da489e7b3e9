import { Agent, request } from 'undici';
import type { HealthCheckConfig } from '../../config/types.ts';
import type { Logger } from '../../log.ts';
import type { Backend } from '../backend.ts';

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
 * to go down and `healthyThreshold` passes in a row to come back.
 */
export class ActiveHealthChecker {
  readonly #service: string;
  readonly #backends: readonly Backend[];
  readonly #config: HealthCheckConfig;
  readonly #log: Logger;
  readonly #agent: Agent;
  readonly #stopped = new AbortController();
  #timer: NodeJS.Timeout | undefined;

  constructor(service: string, backends: readonly Backend[], config: HealthCheckConfig, log: Logger) {
    this.#service = service;
    this.#backends = backends;
    this.#config = config;
    this.#log = log;
    this.#agent = new Agent({ connect: { timeout: config.timeoutMs }, keepAliveTimeout: config.intervalMs * 2 });
  }

  /** Runs the first round, then keeps checking until stop(). */
  async start(): Promise<void> {
    await this.#round();
    this.#schedule();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#stopped.abort();
    await this.#agent.close().catch(() => undefined);
  }

  #schedule(): void {
    if (this.#stopped.signal.aborted) return;
    this.#timer = setTimeout(() => {
      void this.#round().then(() => this.#schedule());
    }, this.#config.intervalMs);
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

  async #probe(backend: Backend): Promise<ProbeResult> {
    const { path, timeoutMs, expectedStatuses } = this.#config;
    const what = `GET ${path}`;
    try {
      const response = await request(backend.origin + path, {
        method: 'GET',
        dispatcher: this.#agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(timeoutMs)]),
      });
      await response.body.dump();
      const status = response.statusCode;
      const passed = expectedStatuses.some(([low, high]) => status >= low && status <= high);
      return { passed, detail: `${what} answered ${status}` };
    } catch (error) {
      return { passed: false, detail: `${what} failed: ${describeProbeError(error, timeoutMs)}` };
    }
  }

  #record(backend: Backend, result: ProbeResult): void {
    if (result.passed) {
      backend.checkFailures = 0;
      backend.checkPasses++;
    } else {
      backend.checkPasses = 0;
      backend.checkFailures++;
    }
    const first = !backend.checked;
    backend.checked = true;
    const { healthyThreshold, unhealthyThreshold } = this.#config;
    if (backend.state === 'down' && result.passed && (first || backend.checkPasses >= healthyThreshold)) {
      this.#change(backend, 'up', result.detail);
    } else if (backend.state === 'up' && !result.passed && (first || backend.checkFailures >= unhealthyThreshold)) {
      this.#change(backend, 'down', result.detail);
    } else if (first) {
      backend.reason = `first check: ${result.detail}`;
    }
  }

  #change(backend: Backend, state: 'up' | 'down', detail: string): void {
    backend.state = state;
    backend.reason = detail;
    const fields = { service: this.#service, backend: backend.label, state, reason: detail };
    const message = `backend ${backend.label} of service "${this.#service}" is ${state}: ${detail}`;
    if (state === 'down') this.#log.warn(fields, message);
    else this.#log.info(fields, message);
  }
}

function describeProbeError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return `no answer within ${timeoutMs}ms`;
    const code = (error as { code?: string }).code;
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return `connect timed out after ${timeoutMs}ms`;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return `no answer within ${timeoutMs}ms`;
    return cause ?? code ?? error.message;
  }
  return String(error);
}
