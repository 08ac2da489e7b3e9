// The driver: every request, plain or Upgrade, goes through the same named
// phases, in this order, each with one job:
//
//   client → route → guard → rewrite       pure, in plan-request.ts
//   rate limit                             may ask Redis
//   pick backend → upstream request →      forward.ts
//   response head → response body
//   log                                    here: one line per failure
//
// Any phase may end the request with a Failure; the driver turns it into
// the one answer and the one log line, in answerFailure() and nowhere else.
// The runtime is read once per request, so a request finishes on the config
// it started with even if a reload swaps it meanwhile.

import { limitFailure, type Failure } from '../failure.ts';
import type { ClientAnswer } from '../http/client-answer.ts';
import { statusText } from '../http/status-text.ts';
import type { Logger } from '../log.ts';
import { checkRateLimits, type RateVerdict } from '../ratelimit/rate-limit.ts';
import type { Transport } from '../upstream/client/transport.ts';
import type { Runtime } from './compile.ts';
import { RequestRecord, UpstreamGate, type FailureScene, type IncomingRequest, type RequestObserver, type TrafficEvents } from './exchange.ts';
import { Forwarding, type ForwardingHost } from './forward.ts';
import { planRequest, type RequestPlan } from './plan-request.ts';
import type { RefusalCounter } from './refusals.ts';

export interface DriverOptions {
  runtime: () => Runtime;
  transport: Transport;
  log: Logger;
  refusals: RefusalCounter;
  /** The log phase: told of every request once it is over. */
  observers?: readonly RequestObserver[];
  /** Told of retries and rate-limit decisions as they happen. */
  events?: TrafficEvents;
}

const NO_EVENTS: TrafficEvents = { retried() {}, retryBudgetExhausted() {}, rateLimitDecision() {} };

type Admitted = Exclude<RequestPlan, { kind: 'refuse' }>;

export type { IncomingRequest } from './exchange.ts';

export class Driver implements ForwardingHost {
  readonly #runtime: () => Runtime;
  readonly transport: Transport;
  readonly log: Logger;
  readonly #refusals: RefusalCounter;
  readonly #observers: readonly RequestObserver[];
  readonly events: TrafficEvents;
  readonly gate = new UpstreamGate();

  constructor(options: DriverOptions) {
    this.#runtime = options.runtime;
    this.transport = options.transport;
    this.log = options.log;
    this.#refusals = options.refusals;
    this.#observers = options.observers ?? [];
    this.events = options.events ?? NO_EVENTS;
  }

  /** Serves one request to its end: an answer, a tunnel, or a cut connection, never an exception. */
  serve(request: IncomingRequest, answer: ClientAnswer): void {
    const runtime = this.#runtime();
    const record = new RequestRecord(request);
    if (this.#observers.length > 0) answer.onDone(() => this.#logPhase(record, answer));
    try {
      const plan = planRequest(runtime, request);
      if (plan.context) {
        record.requestId = plan.context.requestId;
        record.clientIp = plan.context.clientIp;
        record.host = plan.context.host;
      }
      record.route = plan.route?.name;
      if (plan.kind === 'refuse') {
        const answerHeaders = plan.route?.answerHeaders ?? runtime.stampRequestId;
        this.answerFailure(answer, plan.failure, { request, record, context: plan.context, route: plan.route?.name, answerHeaders });
        return;
      }
      this.#rateLimitPhase(plan, request, answer, runtime, record);
    } catch (error) {
      this.#internalError(error, request, answer);
    }
  }

  /** rate limit: each of the route's limits takes a token; at once when all are local, later when one asks Redis. */
  #rateLimitPhase(plan: Admitted, request: IncomingRequest, answer: ClientAnswer, runtime: Runtime, record: RequestRecord): void {
    const { route, context } = plan;
    if (route.rateLimits.length === 0) {
      this.#afterRateLimits(plan, request, answer, runtime, record);
      return;
    }
    const verdict = checkRateLimits(route.rateLimits, { clientIp: context.clientIp, rawHeaders: context.rawHeaders, routeName: route.name });
    const decide = (verdict: RateVerdict): void => {
      // Limits before the one that refused have taken their token: they allowed it.
      for (const limit of route.rateLimits) {
        const refused = verdict.kind !== 'pass' && verdict.limitId === limit.config.id;
        this.events.rateLimitDecision(limit.config.id, !refused);
        if (refused) break;
      }
      // While Redis was asked, the client may have gone.
      if (answer.closed) return;
      if (verdict.kind === 'pass') {
        this.#afterRateLimits(plan, request, answer, runtime, record);
        return;
      }
      this.answerFailure(answer, rateLimited(verdict), { request, record, context, route: route.name, answerHeaders: runtime.stampRequestId });
    };
    if (!(verdict instanceof Promise)) {
      decide(verdict);
      return;
    }
    verdict.then(decide).catch((error: unknown) => this.#internalError(error, request, answer));
  }

  /** The plan's verdict: a redirect or answer of weir's own, or forwarding. */
  #afterRateLimits(plan: Admitted, request: IncomingRequest, answer: ClientAnswer, runtime: Runtime, record: RequestRecord): void {
    if (plan.kind === 'forward') {
      new Forwarding(this, runtime, plan, request, answer, record).start();
      return;
    }
    const headers = plan.kind === 'redirect' ? ['content-type', 'text/plain; charset=utf-8', 'location', plan.location] : [...plan.headers];
    plan.route.answerHeaders(headers, plan.context);
    const body = plan.kind === 'redirect' ? `Redirecting to ${plan.location}` : plan.body;
    writeWhole(answer, plan.status, headers, body);
  }

  /**
   * The one place a failure becomes an answer and a log line. Once the
   * response has started there is no status left to give: the connection is
   * cut, the only honest way to tell the client the body is incomplete.
   */
  answerFailure(answer: ClientAnswer, failure: Failure, scene: FailureScene): void {
    if (scene.record) scene.record.failure = failure;
    this.#logFailure(failure, scene, answer.headersSent);
    if (failure.rule !== undefined) this.#refusals.count(failure.reason);
    if (answer.closed) return;
    if (answer.headersSent) {
      answer.destroy();
      return;
    }
    const headers = ['content-type', 'text/plain; charset=utf-8'];
    if (failure.headers) headers.push(...failure.headers);
    if (scene.context) scene.answerHeaders(headers, scene.context);
    if (failure.closeConnection) answer.closeConnection();
    writeWhole(answer, failure.status, headers, failure.body ?? statusText(failure.status));
  }

  #logFailure(failure: Failure, scene: FailureScene, broken: boolean): void {
    const { request, context } = scene;
    const fields = {
      status: failure.status,
      owner: failure.owner,
      reason: failure.reason,
      method: request.method,
      url: request.url,
      client: context?.clientIp ?? request.peer,
      ...(scene.route !== undefined && { route: scene.route }),
      ...(scene.service !== undefined && { service: scene.service }),
      ...(scene.backend !== undefined && { backend: scene.backend }),
      ...(scene.attempts !== undefined && { attempts: scene.attempts }),
    };
    const who = failure.owner === 'backend' && scene.backend !== undefined ? `backend ${scene.backend}` : failure.owner;
    const message = broken
      ? `response from ${scene.backend ?? 'the backend'} broke off: ${failure.reason}`
      : `${failure.status} ${request.method} ${request.url}: ${who}: ${failure.reason}`;
    if (failure.owner === 'weir') this.log.error(fields, message);
    else if (failure.owner === 'backend' || (failure.owner === 'limit' && failure.status >= 500)) this.log.warn(fields, message);
    else this.log.info(fields, message);
  }

  /** log: every observer hears of the request once its answer is complete or its connection gone. */
  #logPhase(record: RequestRecord, answer: ClientAnswer): void {
    const durationMs = performance.now() - record.started;
    const bytesSent = answer.bytesSent + record.tunnelledBytes;
    for (const observer of this.#observers) {
      try {
        observer.requestFinished(record, answer.status, bytesSent, durationMs);
      } catch (error) {
        this.log.error({ err: error }, `a request observer failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  #internalError(error: unknown, request: IncomingRequest, answer: ClientAnswer): void {
    // A bug in weir must cost one request, never the process.
    this.log.error({ err: error, url: request.url }, `500 ${request.method} ${request.url}: internal error`);
    if (answer.closed) return;
    if (answer.headersSent) answer.destroy();
    else {
      answer.closeConnection();
      writeWhole(answer, 500, ['content-type', 'text/plain; charset=utf-8'], statusText(500));
    }
  }
}

/** A rate limit's refusal: 429, or 503 when its store is down and on_store_error is deny. */
function rateLimited(verdict: Exclude<RateVerdict, { kind: 'pass' }>): Failure {
  if (verdict.kind === 'store-unavailable') {
    const reason = `rate_limit ${verdict.limitId}: store unreachable and on_store_error is deny`;
    return limitFailure(503, reason, { rule: reason, headers: ['retry-after', '1'], body: 'Rate limit store unavailable.' });
  }
  const reason = `rate_limit ${verdict.limitId}`;
  return limitFailure(429, reason, { rule: reason, headers: verdict.headers });
}

/** A whole answer with a known body: Content-Length added. */
export function writeWhole(answer: ClientAnswer, status: number, headers: string[], body: string): void {
  headers.push('content-length', String(Buffer.byteLength(body)));
  answer.writeHead(status, undefined, headers);
  answer.end(body);
}
