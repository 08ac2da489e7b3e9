import type { AttemptStage } from '../failure.ts';

/**
 * Which failed attempts may be tried again on another backend. A request is
 * only retried when doing it twice cannot do harm the client did not ask for.
 */

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export interface RetryFacts {
  method: string;
  /** A body is streamed, not kept, so once sent it cannot be sent again. */
  hasBody: boolean;
  failure: Exclude<AttemptStage, 'response'>;
  /** The route's retry_non_idempotent. */
  nonIdempotentAllowed: boolean;
}

export function mayRetry(facts: RetryFacts): boolean {
  // Nothing reached the backend and the body has not been read: always safe.
  if (facts.failure === 'connect') return true;
  if (facts.hasBody) return false;
  return IDEMPOTENT.has(facts.method) || facts.nonIdempotentAllowed;
}
