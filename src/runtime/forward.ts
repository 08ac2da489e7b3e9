// The phases of a request that reach a backend:
//
//   pick backend      the service's balancer; the queue when every backend
//                     is at max_connections; 503 when none is available or
//                     weir's upstream_requests limit is reached;
//   upstream request  one attempt at a time, each on a backend of its own
//                     when there is one, never more than 1 + retries.attempts
//                     in all, retried only for failures a backend caused;
//   response head     the backend's status and headers, with the route's
//                     response rules; a 101 turns an Upgrade request into a
//                     tunnel, any other answer is an ordinary response;
//   response body     streamed with backpressure both ways.
//
// Passive health hears only of failures a backend caused: a slow, lying or
// vanished client costs its own request and nothing else.

import type { Duplex } from 'node:stream';
import { clientFailure, limitFailure, NO_BACKEND_BODY, type AttemptStage, type Failure } from '../failure.ts';
import type { ClientAnswer } from '../http/client-answer.ts';
import { responseHeadersForClient } from '../http/request-head.ts';
import { upstreamTarget } from '../http/request-target.ts';
import type { Backend } from '../upstream/backend.ts';
import type { PickContext } from '../upstream/balancers/index.ts';
import { Attempt, type AttemptListener } from '../upstream/client/attempt.ts';
import { classifyUpstreamError } from '../upstream/client/upstream-errors.ts';
import type { Service } from '../upstream/service.ts';
import type { CompiledRoute, Runtime } from './compile.ts';
import type { FailureScene, IncomingRequest, RequestRecord, TrafficEvents, UpstreamGate } from './exchange.ts';
import type { Transport } from '../upstream/client/transport.ts';
import type { Logger } from '../log.ts';
import type { RequestPlan } from './plan-request.ts';
import { RequestBody } from './request-body.ts';
import { mayRetry } from './retry-policy.ts';

type ForwardPlan = Extract<RequestPlan, { kind: 'forward' }>;

/** What forwarding needs of the driver that runs it. */
export interface ForwardingHost {
  readonly transport: Transport;
  readonly log: Logger;
  readonly gate: UpstreamGate;
  readonly events: TrafficEvents;
  /** The one place a failure becomes an answer and a log line. */
  answerFailure(answer: ClientAnswer, failure: Failure, scene: FailureScene): void;
}

/** One client request on its way to the backends and back. */
export class Forwarding implements AttemptListener {
  readonly #driver: ForwardingHost;
  readonly #runtime: Runtime;
  readonly #plan: ForwardPlan;
  readonly #request: IncomingRequest;
  readonly #answer: ClientAnswer;
  readonly #record: RequestRecord;
  readonly #route: CompiledRoute;
  readonly #service: Service;
  readonly #pickContext: PickContext;
  readonly #tried = new Set<Backend>();
  #body: RequestBody | IncomingRequest['body'] | null = null;
  #attempts = 0;
  #current: Attempt | undefined;
  /** Unregisters this request from the backend it is on (see Backend.track). */
  #untrack: (() => void) | undefined;
  #holdsGate = false;
  #clientGone = false;
  #done = false;
  /** The client stopped reading the response: a backend that goes quiet meanwhile is not to blame. */
  #waitingForClient = false;

  constructor(driver: ForwardingHost, runtime: Runtime, plan: ForwardPlan, request: IncomingRequest, answer: ClientAnswer, record: RequestRecord) {
    this.#record = record;
    record.service = plan.service.name;
    this.#driver = driver;
    this.#runtime = runtime;
    this.#plan = plan;
    this.#request = request;
    this.#answer = answer;
    this.#route = plan.route;
    this.#service = plan.service;
    this.#pickContext = { clientIp: plan.context.clientIp, headers: plan.context.rawHeaders, path: plan.context.normalizedPath, now: performance.now() };
  }

  /** pick backend, then the first attempt. */
  start(): void {
    const upgrade = this.#request.upgrade;
    const { protocol } = this.#service.config;
    if (upgrade && (protocol === 'h2' || protocol === 'h2c')) {
      // HTTP/2 has no Upgrade (RFC 9113 section 8.6), and weir does not tunnel WebSockets over it (RFC 8441).
      this.#fail({ owner: 'config', status: 501, reason: `service "${this.#service.name}" speaks HTTP/2 to its backends, which cannot carry Upgrade: ${upgrade.protocol}` });
      return;
    }
    const gate = this.#driver.gate;
    const limit = this.#runtime.config.limits.upstreamRequests;
    if (gate.inFlight >= limit) {
      this.#fail(limitFailure(503, `upstream_requests limit (${limit}) reached`, { headers: ['retry-after', '1'] }));
      return;
    }
    gate.inFlight++;
    this.#holdsGate = true;
    this.#answer.onClientGone(() => this.#clientLeft());
    this.#service.retryBudget.recordRequest(this.#pickContext.now);

    const backend = this.#service.pick(this.#pickContext);
    if (backend === 'none available') {
      this.#fail({ owner: 'backend', status: 503, reason: `no backend of service "${this.#service.name}" is available`, body: NO_BACKEND_BODY });
    } else if (backend !== 'all busy') {
      this.#attempt(backend);
    } else if (this.#request.upgrade) {
      // Tunnels do not wait in the queue: a WebSocket client retries by itself.
      this.#fail(limitFailure(503, `every backend of service "${this.#service.name}" is at max_connections`, { headers: ['retry-after', '1'] }));
    } else {
      void this.#service.waitForRoom(this.#pickContext).then((freed) => {
        if (this.#clientGone) return;
        if (freed) this.#attempt(freed);
        else this.#fail(limitFailure(503, `every backend of service "${this.#service.name}" is at max_connections and the queue is full or timed out`, { headers: ['retry-after', '1'] }));
      });
    }
  }

  /** upstream request: one try on `backend`. */
  #attempt(backend: Backend): void {
    this.#attempts++;
    this.#tried.add(backend);
    this.#record.attempts = this.#attempts;
    this.#record.backend = backend.label;
    this.#untrack?.();
    this.#untrack = backend.track(() => this.#cut(backend));
    const { upstream, hasBody, context } = this.#plan;
    const timeouts = this.#route.timeouts;
    if (hasBody && this.#body === null) {
      const limit = this.#route.maxBodyBytes;
      this.#body = new RequestBody(this.#request.body, {
        maxBytes: context.contentLength === undefined ? limit : undefined,
        clientIdleMs: this.#runtime.config.clientTimeouts.bodyIdleMs,
        backendIdleMs: timeouts.idleMs,
      });
    }
    this.#current = new Attempt(
      this.#driver.transport,
      backend,
      { method: upstream.method, target: upstreamTarget(upstream), headers: upstream.headers, body: this.#body, upgrade: this.#request.upgrade?.protocol },
      timeouts,
      this,
    );
  }

  /** Another attempt, if the failure, the policy, the retry cap and the budget allow; true when it started. */
  #retry(stage: Exclude<AttemptStage, 'response'>, reason: string, from: Backend): boolean {
    const service = this.#service;
    if (this.#clientGone || this.#attempts > service.config.retries.attempts) return false;
    if (!mayRetry({ method: this.#plan.upstream.method, hasBody: this.#plan.hasBody, failure: stage, nonIdempotentAllowed: this.#route.config.retryNonIdempotent })) {
      return false;
    }
    const now = performance.now();
    const log = this.#driver.log;
    if (!service.retryBudget.canRetry(now)) {
      this.#driver.events.retryBudgetExhausted(service.name);
      log.warn({ route: this.#route.name, service: service.name, backend: from.label }, `not retrying ${this.#request.method} ${this.#request.url}: retry budget of service "${service.name}" spent`);
      return false;
    }
    const next = service.pickRetry({ ...this.#pickContext, now }, this.#tried);
    if (typeof next === 'string') return false;
    service.retryBudget.recordRetry(now);
    this.#driver.events.retried(service.name);
    log.info(
      { route: this.#route.name, service: service.name, backend: from.label, retryBackend: next.label, reason },
      `retrying ${this.#request.method} ${this.#request.url} on ${next.label}: ${from.label} ${reason}`,
    );
    this.#attempt(next);
    return true;
  }

  // What the attempt reports (AttemptListener).

  /** response head */
  head(status: number, statusText: string, rawHeaders: string[]): boolean {
    const backend = this.#current!.backend;
    const service = this.#service;
    const now = performance.now();
    if (status >= 500) service.passiveHealth?.failed(backend, `answered ${status}`, now);
    else service.passiveHealth?.succeeded(backend);
    if (service.config.retries.onStatuses.includes(status) && this.#retry('status', `answered ${status}`, backend)) return false;

    const headers = responseHeadersForClient(rawHeaders);
    const sticky = service.stickyCookie(backend);
    if (sticky !== undefined) headers.push('set-cookie', sticky);
    this.#route.answerHeaders(headers, this.#plan.context);
    this.#answer.writeHead(status, statusText, headers);
    return true;
  }

  /** response body */
  data(chunk: Buffer): boolean {
    const writable = this.#answer.write(chunk);
    if (!writable) {
      this.#waitingForClient = true;
      this.#answer.onceDrain(() => {
        this.#waitingForClient = false;
        this.#current?.resume();
      });
    }
    return writable;
  }

  /** The time of the current attempt at its backend so far. */
  #markUpstreamTime(): void {
    if (this.#current) this.#record.upstreamMs = performance.now() - this.#current.started;
  }

  complete(trailers: string[] | null): void {
    this.#markUpstreamTime();
    const pairs: Array<[string, string]> = [];
    if (trailers) for (let i = 0; i < trailers.length; i += 2) pairs.push([trailers[i]!, trailers[i + 1]!]);
    this.#answer.end(undefined, pairs);
    this.#finish();
  }

  /** A 101: the client's connection and the backend's become one tunnel until either side closes. */
  upgraded(rawHeaders: string[], upstream: Duplex): void {
    this.#markUpstreamTime();
    const attempt = this.#current!;
    this.#service.passiveHealth?.succeeded(attempt.backend);
    const client = this.#request.upgrade ? socketOf(this.#answer) : undefined;
    if (!client || this.#clientGone) {
      upstream.destroy();
      attempt.release();
      this.#finish();
      return;
    }
    const headers = responseHeadersForClient(rawHeaders);
    headers.push('connection', 'upgrade', 'upgrade', headerValue(rawHeaders, 'upgrade') ?? this.#request.upgrade!.protocol);
    this.#route.answerHeaders(headers, this.#plan.context);
    this.#answer.writeHead(101, 'Switching Protocols', headers);
    const head = this.#request.upgrade!.head;
    if (head.length > 0) upstream.write(head);
    upstream.on('data', (chunk: Buffer) => (this.#record.tunnelledBytes += chunk.length));
    upstream.pipe(client);
    client.pipe(upstream);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      client.destroy();
      upstream.destroy();
      attempt.release();
      this.#finish();
    };
    upstream.on('error', close);
    client.on('error', close);
    upstream.on('close', close);
    client.on('close', close);
  }

  failed(error: unknown): void {
    this.#markUpstreamTime();
    const backend = this.#current!.backend;
    if (this.#clientGone) {
      this.#finish();
      return;
    }
    let failure = classifyUpstreamError(error, this.#route.timeouts);
    if (failure.owner === 'backend' && failure.stage === 'response' && this.#waitingForClient) {
      // The backend went quiet because weir stopped reading it for a client that does not read.
      failure = clientFailure(failure.status, `client stopped reading the response (${failure.reason})`);
    }
    if (failure.owner === 'backend') {
      this.#service.passiveHealth?.failed(backend, failure.reason, performance.now());
      const stage = failure.stage;
      if (!this.#answer.headersSent && (stage === 'connect' || stage === 'before-response') && this.#retry(stage, failure.reason, backend)) return;
    }
    this.#fail(failure, backend);
  }

  released(): void {
    this.#service.released(performance.now());
  }

  #clientLeft(): void {
    if (this.#done) return;
    this.#clientGone = true;
    this.#current?.abandon('client closed the connection');
    this.#driver.log.debug({ route: this.#route.name, url: this.#request.url, client: this.#plan.context.clientIp }, `client closed the connection before the answer was complete: ${this.#request.method} ${this.#request.url}`);
    this.#finish();
  }

  /** A reload removed the backend and its drain deadline passed: the request or tunnel ends now. */
  #cut(backend: Backend): void {
    if (this.#done) return;
    this.#current?.abandon('backend removed by a reload');
    this.#fail({ owner: 'config', status: 503, reason: `backend ${backend.label} was removed by a reload and the drain deadline passed` }, backend);
    this.#answer.destroy();
  }

  #fail(failure: Failure, backend?: Backend): void {
    this.#driver.answerFailure(this.#answer, failure, {
      request: this.#request,
      record: this.#record,
      context: this.#plan.context,
      route: this.#route.name,
      service: this.#service.name,
      backend: backend?.label,
      attempts: this.#attempts,
      answerHeaders: this.#route.answerHeaders,
    });
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#untrack?.();
    if (this.#body instanceof RequestBody) this.#body.stop();
    if (this.#holdsGate) this.#driver.gate.inFlight--;
  }
}

/** The bare connection of an Upgrade request's answer. */
function socketOf(answer: ClientAnswer): Duplex | undefined {
  return 'socket' in answer ? (answer as { socket: Duplex }).socket : undefined;
}

function headerValue(raw: string[], lowerName: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === lowerName) return raw[i + 1]!;
  }
  return undefined;
}
