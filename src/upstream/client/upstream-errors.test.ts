// What each error of the upstream client means: who caused it, the status,
// and how far the attempt got. Only failures owned by a backend may be
// retried or count against its health, so a client's fault must never come
// out as the backend's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientFailure, type Failure } from '../../failure.ts';
import { BodyFailure } from '../../runtime/request-body.ts';
import { mayRetry } from '../../runtime/retry-policy.ts';
import { UpstreamError } from './upstream-error.ts';
import { UnwritableRequest } from './request-writer.ts';
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

  it('takes a failed TLS handshake or a refused HTTP/2 stream as the connect stage: nothing was processed, so even a POST may go elsewhere', () => {
    const tls = classifyUpstreamError(new UpstreamError('WEIR_UPSTREAM_TLS', 'TLS: certificate has expired (CERT_HAS_EXPIRED)', false), timeouts);
    assert.deepEqual(summary(tls), { owner: 'backend', status: 502, stage: 'connect' });
    assert.equal(tls.reason, 'TLS: certificate has expired (CERT_HAS_EXPIRED)');
    assert.equal(retriesPost(tls), true);
    const refused = classifyUpstreamError(new UpstreamError('WEIR_STREAM_REFUSED', 'backend refused the stream (REFUSED_STREAM or GOAWAY)', false), timeouts);
    assert.deepEqual(summary(refused), { owner: 'backend', status: 502, stage: 'connect' });
    assert.equal(retriesPost(refused), true);
  });

  it('takes a reset HTTP/2 stream as the backend\'s, at the stage it had reached', () => {
    const before = classifyUpstreamError(new UpstreamError('WEIR_UPSTREAM_RESET', 'backend reset the stream (INTERNAL_ERROR)', false), timeouts);
    assert.deepEqual(summary(before), { owner: 'backend', status: 502, stage: 'before-response' });
    assert.equal(before.reason, 'backend reset the stream (INTERNAL_ERROR)');
    const after = classifyUpstreamError(new UpstreamError('WEIR_UPSTREAM_RESET', 'backend reset the stream (INTERNAL_ERROR)', true), timeouts);
    assert.equal(after.stage, 'response');
  });

  it('takes an Upgrade to a service spoken to in HTTP/2 as the config\'s 501, not the backend\'s', () => {
    const failure = classifyUpstreamError(new UpstreamError('WEIR_UPGRADE_OVER_H2', 'Upgrade (websocket) cannot be forwarded to a backend spoken to in HTTP/2', false), timeouts);
    assert.deepEqual([failure.owner, failure.status], ['config', 501]);
  });

  it('answers a connect timeout with 504 at the connect stage, naming the timeout', () => {
    for (const code of ['WEIR_CONNECT_TIMEOUT', 'ETIMEDOUT']) {
      const failure = classifyUpstreamError(coded(code), timeouts);
      assert.deepEqual(summary(failure), { owner: 'backend', status: 504, stage: 'connect' }, code);
      assert.match(failure.reason, /111ms/);
      assert.equal(retriesPost(failure), true, code);
    }
  });

  it('takes a reset or closed connection as the backend\'s, before the response (it may have acted on the request)', () => {
    for (const code of ['ECONNRESET', 'EPIPE', 'WEIR_UPSTREAM_CLOSED']) {
      const failure = classifyUpstreamError(coded(code), timeouts);
      assert.deepEqual(summary(failure), { owner: 'backend', status: 502, stage: 'before-response' }, code);
      assert.equal(retriesPost(failure), false, `${code}: a POST may have been acted on`);
    }
    const closed = classifyUpstreamError(new UpstreamError('WEIR_UPSTREAM_CLOSED', 'backend closed the connection before the response was complete', true), timeouts);
    assert.deepEqual(summary(closed), { owner: 'backend', status: 502, stage: 'response' });
    assert.match(closed.reason, /before the response was complete/);
  });

  it('takes a response that breaks HTTP/1.1 framing as the backend\'s 502, at the stage it had reached', () => {
    const before = classifyUpstreamError(new UpstreamError('WEIR_UPSTREAM_PROTOCOL', 'invalid response: two different Content-Length values', false), timeouts);
    assert.deepEqual(summary(before), { owner: 'backend', status: 502, stage: 'before-response' });
    assert.match(before.reason, /two different Content-Length values/);
    const after = classifyUpstreamError(new UpstreamError('WEIR_UPSTREAM_PROTOCOL', 'invalid response: invalid chunk size', true), timeouts);
    assert.deepEqual(summary(after), { owner: 'backend', status: 502, stage: 'response' });
  });

  it('answers no response head in time with 504 before the response, and a stalled response body with 504 in the response', () => {
    const head = classifyUpstreamError(coded('WEIR_RESPONSE_HEADERS_TIMEOUT'), timeouts);
    assert.deepEqual(summary(head), { owner: 'backend', status: 504, stage: 'before-response' });
    assert.match(head.reason, /222ms/);
    const body = classifyUpstreamError(coded('WEIR_BODY_TIMEOUT'), timeouts);
    assert.deepEqual(summary(body), { owner: 'backend', status: 504, stage: 'response' });
    assert.match(body.reason, /333ms/);
  });

  it('takes a request weir cannot write as it is as the client\'s (400), never the backend\'s', () => {
    const failure = classifyUpstreamError(new UnwritableRequest('invalid value of header x-a'), timeouts);
    assert.equal(failure.owner, 'client');
    assert.equal(failure.status, 400);
    assert.equal(failure.stage, undefined);
    assert.match(failure.reason, /invalid value of header x-a/);
  });

  it('takes a body that does not match its Content-Length as the client\'s lie (400), closing the connection', () => {
    const failure = classifyUpstreamError(coded('WEIR_BODY_LENGTH'), timeouts);
    assert.deepEqual(summary(failure), { owner: 'client', status: 400, stage: undefined });
    assert.equal(failure.closeConnection, true);
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
    assert.deepEqual(summary(classifyUpstreamError(coded('E_WHATEVER'), timeouts)), { owner: 'backend', status: 502, stage: 'before-response' });
    for (const odd of [undefined, null, 'a string']) {
      assert.equal(classifyUpstreamError(odd, timeouts).owner, 'backend', String(odd));
    }
  });
});
