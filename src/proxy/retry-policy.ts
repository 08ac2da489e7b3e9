/**
 * Which failed attempts may be tried again on another backend. A request is
 * only retried when doing it twice cannot do harm the client did not ask for.
 */

/** How far an attempt got before it failed. */
export type AttemptFailure =
  /** Could not connect: the backend never saw the request. */
  | 'connect'
  /** Connected, then reset, closed or silent before the response headers: the backend may have acted on it. */
  | 'before-response'
  /** The backend answered with a status the service retries (502, 503, ...). */
  | 'status';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export interface RetryFacts {
  method: string;
  /** A body is streamed, not kept, so once sent it cannot be sent again. */
  hasBody: boolean;
  failure: AttemptFailure;
  /** The route's retry_non_idempotent. */
  nonIdempotentAllowed: boolean;
}

export function mayRetry(facts: RetryFacts): boolean {
  // Nothing reached the backend and the body has not been read: always safe.
  if (facts.failure === 'connect') return true;
  if (facts.hasBody) return false;
  return IDEMPOTENT.has(facts.method) || facts.nonIdempotentAllowed;
}
