import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { TimeoutsConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { CompiledRoute } from '../runtime/compile.ts';
import { upstreamTarget } from '../runtime/plan-request.ts';
import type { UpstreamRequest } from '../middleware/types.ts';
import type { Backend } from '../upstream/backend.ts';
import { classifyForwardError } from './errors.ts';
import { responseHeadersForClient } from './request-head.ts';
import { respondPlain } from './respond.ts';

/** What forward() needs to send one request to one backend. */
export interface ForwardJob {
  req: IncomingMessage;
  res: ServerResponse;
  route: CompiledRoute;
  upstream: UpstreamRequest;
  hasBody: boolean;
  backend: Backend;
  pool: Dispatcher;
  timeouts: TimeoutsConfig;
  log: Logger;
}

/**
 * Sends the request to the backend and streams the answer back, with
 * backpressure both ways: the client's body is read only as fast as the
 * backend takes it (undici reads it from the request stream), and the
 * backend's body only as fast as the client takes it (onData returns false
 * and resumes on 'drain').
 */
export function forward(job: ForwardJob): void {
  const relay = new ResponseRelay(job);
  job.backend.inflight++;
  job.pool.dispatch(
    {
      path: upstreamTarget(job.upstream),
      method: job.upstream.method,
      headers: job.upstream.headers,
      body: job.hasBody ? job.req : null,
      headersTimeout: job.timeouts.responseHeadersMs,
      bodyTimeout: job.timeouts.idleMs,
    },
    // undici's core speaks this handler shape (raw header Buffers, boolean
    // backpressure); using it directly skips a wrapper and a header parse.
    relay as unknown as Dispatcher.DispatchHandler,
  );
}

class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

class ResponseRelay {
  readonly #job: ForwardJob;
  #abort: ((reason: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #done = false;
  readonly #onClientClose = (): void => {
    if (this.#done) return;
    // The client went away before the answer was complete: stop the backend request too.
    this.#abort?.(new ClientGoneError('client closed the connection'));
  };
  readonly #onDrain = (): void => this.#resume?.();

  constructor(job: ForwardJob) {
    this.#job = job;
    job.res.on('close', this.#onClientClose);
  }

  onConnect(abort: (reason: Error) => void): void {
    this.#abort = abort;
    if (this.#job.res.destroyed) abort(new ClientGoneError('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx answers are the backend's business: weir already told the client to continue.
    if (statusCode < 200) return true;
    this.#resume = resume;
    const { res } = this.#job;
    res.writeHead(statusCode, statusText || undefined, responseHeadersForClient(rawHeaders));
    return true;
  }

  onData(chunk: Buffer): boolean {
    const writable = this.#job.res.write(chunk);
    if (!writable) this.#job.res.once('drain', this.#onDrain);
    return writable;
  }

  onComplete(trailers: Buffer[] | null): void {
    const { res } = this.#job;
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
    const { res, req, log, route, backend, upstream } = this.#job;
    if (error instanceof ClientGoneError || res.destroyed) {
      res.destroy();
      return;
    }
    const failure = classifyForwardError(error, this.#job.timeouts);
    const fields = {
      status: failure.status,
      route: route.name,
      service: route.service.name,
      backend: backend.label,
      method: upstream.method,
      url: req.url,
      reason: failure.reason,
    };
    if (res.headersSent) {
      // Too late for a status: cutting the connection is the only honest way
      // to tell the client the body is incomplete.
      log.warn(fields, `response from ${backend.label} broke off: ${failure.reason}`);
      res.destroy();
      return;
    }
    const who = failure.clientSide ? 'client' : `backend ${backend.label}`;
    log.warn(fields, `${failure.status} ${upstream.method} ${req.url}: ${who}: ${failure.reason}`);
    respondPlain(res, failure.status);
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#job.backend.inflight--;
    this.#job.res.off('close', this.#onClientClose);
  }
}
