import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mayRetry } from './retry-policy.ts';

describe('retry policy', () => {
  it('retries anything that never reached a backend, body or not', () => {
    for (const method of ['GET', 'POST', 'PATCH']) {
      assert.equal(mayRetry({ method, hasBody: true, failure: 'connect', nonIdempotentAllowed: false }), true);
    }
  });

  it('retries idempotent methods without a body after the backend may have seen them', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) {
      assert.equal(mayRetry({ method, hasBody: false, failure: 'before-response', nonIdempotentAllowed: false }), true, method);
      assert.equal(mayRetry({ method, hasBody: false, failure: 'status', nonIdempotentAllowed: false }), true, method);
    }
  });

  it('never sends a POST that may have reached a backend to a second one, unless the route allows it', () => {
    assert.equal(mayRetry({ method: 'POST', hasBody: false, failure: 'before-response', nonIdempotentAllowed: false }), false);
    assert.equal(mayRetry({ method: 'PATCH', hasBody: false, failure: 'status', nonIdempotentAllowed: false }), false);
    assert.equal(mayRetry({ method: 'POST', hasBody: false, failure: 'before-response', nonIdempotentAllowed: true }), true);
  });

  it('never retries a request whose streamed body was already sent', () => {
    assert.equal(mayRetry({ method: 'PUT', hasBody: true, failure: 'before-response', nonIdempotentAllowed: true }), false);
  });
});
