// A request's head as HTTP/2 fields: nothing connection-specific goes out
// (a backend would take the request as malformed), Host becomes :authority,
// and what cannot be sent safely is the client's 400. A gRPC Trailers-Only
// response comes back as a head and trailers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { h2RequestHeaders, splitTrailersOnly, withoutPseudoFields } from './h2-headers.ts';
import { UnwritableRequest, type RequestToWrite } from './request-writer.ts';

function request(headers: string[], extra: Partial<RequestToWrite> = {}): RequestToWrite {
  return { method: 'GET', target: '/a?b=1', headers, hasBody: false, upgrade: undefined, ...extra };
}

describe('h2RequestHeaders', () => {
  it('puts the pseudo-fields first, :authority from Host (the backend\'s own address without one)', () => {
    assert.deepEqual(h2RequestHeaders(request(['Host', 'api.example', 'Accept', 'text/plain']), '10.0.0.1:80', 'https'), [
      ':method', 'GET', ':scheme', 'https', ':authority', 'api.example', ':path', '/a?b=1', 'accept', 'text/plain',
    ]);
    assert.deepEqual(h2RequestHeaders(request([]), '10.0.0.1:80', 'http').slice(0, 8), [':method', 'GET', ':scheme', 'http', ':authority', '10.0.0.1:80', ':path', '/a?b=1']);
  });

  it('drops connection-specific fields, and TE unless it is "trailers"', () => {
    const fields = h2RequestHeaders(
      request(['Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'Proxy-Connection', 'x', 'HTTP2-Settings', 'AAA', 'TE', 'gzip', 'x-kept', '1']),
      'b:1',
      'http',
    );
    assert.deepEqual(withoutPseudoFields(fields), ['x-kept', '1']);
    assert.deepEqual(withoutPseudoFields(h2RequestHeaders(request(['te', 'Trailers']), 'b:1', 'http')), ['te', 'Trailers']);
  });

  it('adds "te: trailers" to a gRPC request, which weir\'s own hop-by-hop rule took away', () => {
    assert.deepEqual(withoutPseudoFields(h2RequestHeaders(request(['content-type', 'application/grpc+proto'], { method: 'POST', hasBody: true }), 'b:1', 'http')), [
      'content-type', 'application/grpc+proto', 'te', 'trailers',
    ]);
  });

  it('keeps one Content-Length, and refuses two different ones or a bad one', () => {
    assert.deepEqual(withoutPseudoFields(h2RequestHeaders(request(['content-length', '5', 'Content-Length', '5'], { method: 'PUT', hasBody: true }), 'b:1', 'http')), ['content-length', '5']);
    assert.throws(() => h2RequestHeaders(request(['content-length', '5', 'content-length', '6']), 'b:1', 'http'), UnwritableRequest);
    assert.throws(() => h2RequestHeaders(request(['content-length', '-1']), 'b:1', 'http'), UnwritableRequest);
  });

  it('refuses what cannot be sent: a bad method, target, name or value, and CONNECT', () => {
    for (const bad of [request([], { method: 'G T' }), request([], { target: '/a b' }), request(['bad name', 'x']), request(['x-a', 'line\r\nbreak']), request([], { method: 'CONNECT' })]) {
      assert.throws(() => h2RequestHeaders(bad, 'b:1', 'http'), UnwritableRequest, JSON.stringify(bad));
    }
  });
});

describe('splitTrailersOnly', () => {
  it('moves a gRPC status out of a head that ended the stream into trailers', () => {
    assert.deepEqual(splitTrailersOnly(['content-type', 'application/grpc', 'grpc-status', '5', 'grpc-message', 'not found', 'x-a', '1']), {
      head: ['content-type', 'application/grpc', 'x-a', '1'],
      trailers: ['grpc-status', '5', 'grpc-message', 'not found'],
    });
  });

  it('leaves anything else alone', () => {
    assert.equal(splitTrailersOnly(['content-type', 'text/plain', 'grpc-status', '5']), undefined);
    assert.equal(splitTrailersOnly(['content-type', 'application/grpc']), undefined);
  });
});
