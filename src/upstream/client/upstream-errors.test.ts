// What each error of the upstream client means: who caused it, the status,
// and how far the attempt got. Only failures owned by a backend may be
// retried or count against its health, so a client's fault must never come
// out as the backend's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientFailure, type Failure } from '../../failure.ts';
import { BodyFailure } from '../../runtime/request-body.ts';
import { mayRetry } from '../../runtime/retry-policy.ts';
import { classifyUpstreamError, type UpstreamTimeouts } from './upstream-errors.ts';

const timeouts: UpstreamTimeouts = { connectMs: 111, responseHeadersMs: 222, idleMs: 333 };

function coded(code: string, message = `error ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

/** Whether a POST with a body may be tried again elsewhere after this failure: only when nothing reached the backend. */
function retriesPost(failure: Failure): boolean {
  assert.ok(failure.stage !== undefined && failure.stage !== 'response', `stage ${failure.stage}`);
  return mayRetry({ method: 'POST', hasBody: true, failure: failure.stage, nonIdempotentAllowed: false });
}

function summary(failure: Failure): Pick<Failure, 'owner' | 'status' | 'stage'> {
  return { owner: failure.owner, status: failure.status, stage: failure.stage };
}

describe('classifyUpstreamError', () => {
  it('takes a connection that never opened as the backend\'s, at the connect stage (the backend never saw the request)', () => {
    for (const code of ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']) {
      const failure = classifyUpstreamError(coded(code), timeouts);
      assert.deepEqual(summary(failure), { owner: 'backend', status: 502, stage: 'connect' }, code);
      assert.match(failure.reason, new RegExp(code));
      assert.equal(retriesPost(failure), true, `${code} is retryable, even for a POST`);
    }
  });

  it('answers a connect timeout with 504 at the connect stage, naming the timeout', () => {
    for (const code of ['UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']) {
      const failure = classifyUpstreamError(coded(code), timeouts);
      assert.deepEqual(summary(failure), { owner: 'backend', status: 504, stage: 'connect' }, code);
      assert.match(failure.reason, /111ms/);
      assert.equal(retriesPost(failure), true, code);
    }
  });

  it('takes a reset or closed connection as the backend\'s, before the response (it may have acted on the request)', () => {
    for (const code of ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']) {
      const failure = classifyUpstreamError(coded(code), timeouts);
      assert.deepEqual(summary(failure), { owner: 'backend', status: 502, stage: 'before-response' }, code);
      assert.equal(retriesPost(failure), false, `${code}: a POST may have been acted on`);
    }
    // undici's socket error keeps the underlying reason in its cause.
    const socket = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET', cause: { code: 'ECONNRESET', message: 'read ECONNRESET' } });
    assert.match(classifyUpstreamError(socket, timeouts).reason, /read ECONNRESET/);
  });

  it('answers no response head in time with 504 before the response, and a stalled response body with 504 in the response', () => {
    for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'WEIR_RESPONSE_HEADERS_TIMEOUT']) {
      const failure = classifyUpstreamError(coded(code), timeouts);
      assert.deepEqual(summary(failure), { owner: 'backend', status: 504, stage: 'before-response' }, code);
      assert.match(failure.reason, /222ms/);
    }
    const body = classifyUpstreamError(coded('UND_ERR_BODY_TIMEOUT'), timeouts);
    assert.deepEqual(summary(body), { owner: 'backend', status: 504, stage: 'response' });
    assert.match(body.reason, /333ms/);
  });

  it('takes a request the client library refuses to send as the client\'s (400), never the backend\'s', () => {
    for (const code of ['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']) {
      const failure = classifyUpstreamError(coded(code, 'invalid header value'), timeouts);
      assert.equal(failure.owner, 'client', code);
      assert.equal(failure.status, 400, code);
      assert.equal(failure.stage, undefined, code);
      assert.match(failure.reason, /invalid header value/);
    }
  });

  it('takes a body that does not match its Content-Length as the client\'s lie (400), closing the connection', () => {
    const failure = classifyUpstreamError(coded('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'), timeouts);
    assert.deepEqual(summary(failure), { owner: 'client', status: 400, stage: undefined });
    assert.equal(failure.closeConnection, true);
  });

  it('reads the code from the cause when the error itself has none', () => {
    const wrapped = Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    assert.deepEqual(summary(classifyUpstreamError(wrapped, timeouts)), { owner: 'backend', status: 502, stage: 'connect' });
  });

  it('hands back the failure an error carries, as the request body\'s own failure does', () => {
    const failure = clientFailure(408, 'request body idle for 50ms', { closeConnection: true });
    assert.equal(classifyUpstreamError(new BodyFailure(failure), timeouts), failure);
    // Even when a code says otherwise: the body knows who stopped.
    const coded408 = Object.assign(new BodyFailure(failure), { code: 'ECONNRESET' });
    assert.equal(classifyUpstreamError(coded408, timeouts), failure);
  });

  it('takes anything else as the backend\'s 502, keeping the message', () => {
    const failure = classifyUpstreamError(new Error('something odd'), timeouts);
    assert.deepEqual(summary(failure), { owner: 'backend', status: 502, stage: 'before-response' });
    assert.match(failure.reason, /something odd/);
    assert.deepEqual(summary(classifyUpstreamError(coded('UND_ERR_WHATEVER'), timeouts)), { owner: 'backend', status: 502, stage: 'before-response' });
    for (const odd of [undefined, null, 'a string']) {
      assert.equal(classifyUpstreamError(odd, timeouts).owner, 'backend', String(odd));
    }
  });
});
