// Every way a request can end without a backend's answer, in one shape.
// A failure says who caused it, which decides what follows: only failures
// owned by a backend count against that backend's health or may be retried
// elsewhere; a client that is slow, lies about its body or sends what weir
// refuses costs only its own request. Each failure becomes one answer and
// one log line, in the driver (runtime/driver.ts), and nowhere else.

/**
 * Who caused a failure:
 * - client: a malformed, refused, slow or vanished client (4xx);
 * - limit: a limit weir keeps on everyone's behalf: rate limits, the
 *   upstream request cap, a full queue (429, 503);
 * - config: the config has nothing for this request (404 no route);
 * - backend: a backend refused, reset, broke or was too slow (502, 504), or
 *   none is available (503);
 * - weir: a bug in weir (500).
 */
export type FailureOwner = 'client' | 'limit' | 'config' | 'backend' | 'weir';

/** How far an attempt on a backend got before it failed, which decides whether it may be retried. */
export type AttemptStage =
  /** Could not connect: the backend never saw the request. */
  | 'connect'
  /** Connected, then reset, closed or silent before the response head: the backend may have acted on it. */
  | 'before-response'
  /** The backend answered with a status the service retries (502, 503, ...). */
  | 'status'
  /** The response had started: too late for another answer. */
  | 'response';

export interface Failure {
  readonly owner: FailureOwner;
  readonly status: number;
  /** Short, for the log line: "connect failed: ECONNREFUSED", "firewall: path_reject /admin". */
  readonly reason: string;
  /** Headers of the answer besides Content-Type and Content-Length (Allow, Retry-After, RateLimit). */
  readonly headers?: readonly string[];
  /** The answer's body; the status text when absent. */
  readonly body?: string;
  /** The rule that refused, as counted by weir.refusals() (firewall and rate limits). */
  readonly rule?: string;
  /** For backend failures: how far the attempt got. */
  readonly stage?: AttemptStage;
  /** The connection cannot carry another request after this answer (413 with an unread body, 408). */
  readonly closeConnection?: boolean;
}

export function clientFailure(status: number, reason: string, extra: Partial<Failure> = {}): Failure {
  return { owner: 'client', status, reason, ...extra };
}

export function backendFailure(status: number, reason: string, stage: AttemptStage): Failure {
  return { owner: 'backend', status, reason, stage };
}

export function limitFailure(status: number, reason: string, extra: Partial<Failure> = {}): Failure {
  return { owner: 'limit', status, reason, ...extra };
}

/** The course's own text for "every backend is down", kept word for word. */
export const NO_BACKEND_BODY = 'No backend servers available.';

/** Logged at warn: an operator should look. The rest (a client's refusal, a rate limit) is info. */
export function isOperatorConcern(failure: Failure): boolean {
  return failure.owner === 'backend' || failure.owner === 'weir' || (failure.owner === 'limit' && failure.status >= 500);
}
