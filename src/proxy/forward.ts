import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { TimeoutsConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { RequestContext, UpstreamRequest } from '../middleware/types.ts';
import type { CompiledRoute } from '../runtime/compile.ts';
import { upstreamTarget } from '../http/request-target.ts';
import type { Backend } from '../upstream/backend.ts';
import type { PickContext } from '../upstream/balancers/index.ts';
import type { Service } from '../upstream/service.ts';
import { BodyLimit } from './body-limit.ts';
import { classifyForwardError, type ForwardFailure } from './errors.ts';
import { responseHeadersForClient } from '../http/request-head.ts';
import { respondPlain } from '../http/respond.ts';
import { mayRetry, type AttemptFailure } from './retry-policy.ts';
import type { Transport } from './transport.ts';

/** What forward() needs to carry one client request to the backends and back. */
export interface ForwardJob {
  req: IncomingMessage;
  res: ServerResponse;
  route: CompiledRoute;
  service: Service;
  /** The request's facts, as the rules saw them. */
  request: RequestContext;
  upstream: UpstreamRequest;
  hasBody: boolean;
  context: PickContext;
  transport: Transport;
  log: Logger;
}

/**
 * Sends the request to `backend` and streams the answer back, with
 * backpressure both ways: the client's body is read only as fast as the
 * backend takes it (undici reads it from the request stream), and the
 * backend's body only as fast as the client takes it (onData returns false
 * and resumes on 'drain'). A failed attempt that the retry policy and the
 * service's retry budget allow is tried again on another backend before
 * anything has been sent to the client.
 */
export function forward(job: ForwardJob, backend: Backend): void {
  const exchange = new Exchange(job);
  job.service.retryBudget.recordRequest(job.context.now);
  exchange.attempt(backend);
}

class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

/** The backend did not start its answer within response_headers; classified like undici's own timeout. */
class ResponseHeadersTimeout extends Error {
  override name = 'ResponseHeadersTimeout';
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
}

/** An attempt given up in favour of a retry (the backend answered a retried status). */
class AbandonedError extends Error {
  override name = 'AbandonedError';
}

/** One client request and its attempts. */
class Exchange {
  readonly job: ForwardJob;
  readonly timeouts: TimeoutsConfig;
  readonly tried = new Set<Backend>();
  current: Attempt | undefined;
  clientGone = false;

  /** What undici reads the request body from: the client's request, counted when max_body_size must be checked as it streams. */
  readonly body: Readable | null;

  constructor(job: ForwardJob) {
    this.job = job;
    const limit = job.route.maxBodyBytes;
    this.body = !job.hasBody ? null : limit !== undefined && job.request.contentLength === undefined ? job.req.pipe(new BodyLimit(limit)) : job.req;
    this.timeouts = job.route.timeouts;
    job.res.on('close', () => {
      if (this.job.res.writableFinished) return;
      // The client went away before the answer was complete: stop the backend request too.
      this.clientGone = true;
      this.current?.abort(new ClientGoneError('client closed the connection'));
    });
  }

  attempt(backend: Backend): void {
    this.tried.add(backend);
    const attempt = new Attempt(this, backend);
    this.current = attempt;
    const { job } = this;
    job.transport.pool(backend, this.timeouts.connectMs).dispatch(
      {
        path: upstreamTarget(job.upstream),
        method: job.upstream.method,
        headers: job.upstream.headers,
        body: this.body,
        // undici checks this only about once a second; the attempt keeps a
        // precise timer of its own, and undici's is the backstop.
        headersTimeout: this.timeouts.responseHeadersMs + 1_000,
        bodyTimeout: this.timeouts.idleMs,
      },
      // undici's core speaks this handler shape (raw header Buffers, boolean
      // backpressure); using it directly skips a wrapper and a header parse.
      attempt as unknown as Dispatcher.DispatchHandler,
    );
  }

  /** Tries another backend if policy, budget and attempts allow; true when it did. */
  retry(failure: AttemptFailure, reason: string, from: Backend): boolean {
    const { job } = this;
    const { service } = job;
    if (this.clientGone || this.tried.size > service.config.retries.attempts) return false;
    if (!mayRetry({ method: job.upstream.method, hasBody: job.hasBody, failure, nonIdempotentAllowed: job.route.config.retryNonIdempotent })) return false;
    const now = performance.now();
    if (!service.retryBudget.canRetry(now)) {
      job.log.warn({ route: job.route.name, service: service.name, backend: from.label }, `not retrying ${job.upstream.method} ${job.req.url}: retry budget of service "${service.name}" spent`);
      return false;
    }
    const next = service.pick({ ...job.context, now }, this.tried);
    if (typeof next === 'string') return false;
    service.retryBudget.recordRetry(now);
    job.log.info(
      { route: job.route.name, service: service.name, backend: from.label, retryBackend: next.label, reason },
      `retrying ${job.upstream.method} ${job.req.url} on ${next.label}: ${from.label} ${reason}`,
    );
    this.attempt(next);
    return true;
  }

  fail(failure: ForwardFailure, backend: Backend): void {
    const { res, req, log, route, upstream } = this.job;
    const fields = { status: failure.status, route: route.name, service: this.job.service.name, backend: backend.label, method: upstream.method, url: req.url, reason: failure.reason };
    if (res.headersSent) {
      // Too late for a status: cutting the connection is the only honest way
      // to tell the client the body is incomplete.
      log.warn(fields, `response from ${backend.label} broke off: ${failure.reason}`);
      res.destroy();
      return;
    }
    const who = failure.clientSide ? 'client' : `backend ${backend.label}`;
    log.warn(fields, `${failure.status} ${upstream.method} ${req.url}: ${who}: ${failure.reason}`);
    const headers: string[] = [];
    this.job.route.answerHeaders(headers, this.job.request);
    // The rest of an over-long body is not worth reading: close after the answer.
    if (failure.status === 413) headers.push('connection', 'close');
    respondPlain(res, failure.status, undefined, headers);
  }
}

/** One try on one backend: the undici handler. */
class Attempt {
  readonly #exchange: Exchange;
  readonly #backend: Backend;
  readonly #started = performance.now();
  #abort: ((reason: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #abandoned = false;
  #done = false;
  readonly #onDrain = (): void => this.#resume?.();
  readonly #headersTimer: NodeJS.Timeout;

  constructor(exchange: Exchange, backend: Backend) {
    this.#exchange = exchange;
    this.#backend = backend;
    backend.inflight++;
    this.#headersTimer = setTimeout(() => this.#abort?.(new ResponseHeadersTimeout()), exchange.timeouts.responseHeadersMs);
  }

  abort(reason: Error): void {
    this.#abort?.(reason);
  }

  onConnect(abort: (reason: Error) => void): void {
    this.#abort = abort;
    if (this.#exchange.clientGone) abort(new ClientGoneError('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx answers are the backend's business: weir already told the client to continue.
    if (statusCode < 200) return true;
    clearTimeout(this.#headersTimer);
    const exchange = this.#exchange;
    const { job } = exchange;
    const { service } = job;
    const now = performance.now();
    this.#backend.latency.observe(now - this.#started, now);
    if (statusCode >= 500) service.passiveHealth?.failed(this.#backend, `answered ${statusCode}`, now);
    else service.passiveHealth?.succeeded(this.#backend);

    if (service.config.retries.onStatuses.includes(statusCode) && exchange.retry('status', `answered ${statusCode}`, this.#backend)) {
      this.#abandoned = true;
      this.#finish();
      this.#abort?.(new AbandonedError(`answered ${statusCode}, retried elsewhere`));
      return false;
    }

    this.#resume = resume;
    const headers = responseHeadersForClient(rawHeaders);
    const sticky = service.stickyCookie(this.#backend);
    if (sticky !== undefined) headers.push('set-cookie', sticky);
    job.route.answerHeaders(headers, job.request);
    job.res.writeHead(statusCode, statusText || undefined, headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    const { res } = this.#exchange.job;
    const writable = res.write(chunk);
    if (!writable) res.once('drain', this.#onDrain);
    return writable;
  }

  onComplete(trailers: Buffer[] | null): void {
    const { res } = this.#exchange.job;
    if (trailers && trailers.length > 0) {
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i < trailers.length; i += 2) pairs.push([trailers[i]!.toString('latin1'), trailers[i + 1]!.toString('latin1')]);
      res.addTrailers(pairs);
    }
    this.#finish();
    res.end();
  }

  onError(error: Error): void {
    this.#finish();
    if (this.#abandoned) return;
    const exchange = this.#exchange;
    const { res, service } = exchange.job;
    if (error instanceof ClientGoneError || exchange.clientGone || res.destroyed) {
      res.destroy();
      return;
    }
    const failure = classifyForwardError(error, exchange.timeouts);
    if (!failure.clientSide) service.passiveHealth?.failed(this.#backend, failure.reason, performance.now());
    if (!res.headersSent && !failure.clientSide) {
      const stage: AttemptFailure = failure.connectFailure ? 'connect' : 'before-response';
      if (exchange.retry(stage, failure.reason, this.#backend)) return;
    }
    exchange.fail(failure, this.#backend);
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#headersTimer);
    this.#backend.inflight--;
    this.#exchange.job.service.released(performance.now());
  }
}

