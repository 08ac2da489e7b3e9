// The request head weir writes to a backend: one buffer, the body framed as
// the client framed it, and nothing written that could split a line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestHead, UnwritableRequest, type RequestToWrite } from './request-writer.ts';

function head(request: Partial<RequestToWrite>): { text: string; framing: string } {
  const written = requestHead({ method: 'GET', target: '/', headers: ['host', 'a.test'], hasBody: false, upgrade: undefined, ...request }, '127.0.0.1:9000');
  return { text: written.head, framing: JSON.stringify(written.framing) };
}

describe('requestHead', () => {
  it('writes the request line, the headers as given and one empty line', () => {
    assert.deepEqual(head({ target: '/a?b=1', headers: ['Host', 'a.test', 'X-One', 'v 1'] }), {
      text: 'GET /a?b=1 HTTP/1.1\r\nHost: a.test\r\nX-One: v 1\r\n\r\n',
      framing: '{"kind":"none"}',
    });
  });

  it('sends the backend\'s address as Host when the client sent none (an HTTP/1.0 client)', () => {
    assert.equal(head({ headers: [] }).text, 'GET / HTTP/1.1\r\nhost: 127.0.0.1:9000\r\n\r\n');
  });

  it('keeps a sized body\'s Content-Length and streams the body as it is', () => {
    assert.deepEqual(head({ method: 'POST', headers: ['host', 'a', 'content-length', '12'], hasBody: true }), {
      text: 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 12\r\n\r\n',
      framing: '{"kind":"length","length":12}',
    });
  });

  it('frames a body without a length as chunked', () => {
    assert.deepEqual(head({ method: 'POST', hasBody: true }), {
      text: 'POST / HTTP/1.1\r\nhost: a.test\r\ntransfer-encoding: chunked\r\n\r\n',
      framing: '{"kind":"chunked"}',
    });
  });

  it('tells the backend a POST, PUT or PATCH without a body has length 0, and says nothing for a GET', () => {
    for (const method of ['POST', 'PUT', 'PATCH']) assert.match(head({ method }).text, /\r\ncontent-length: 0\r\n\r\n$/, method);
    for (const method of ['GET', 'DELETE', 'HEAD']) assert.doesNotMatch(head({ method }).text, /content-length/, method);
  });

  it('asks for the upgrade itself', () => {
    assert.match(head({ upgrade: 'websocket' }).text, /\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n$/);
  });

  it('refuses to write what could split a line or smuggle a second request', () => {
    const cases: Array<[string, Partial<RequestToWrite>]> = [
      ['CRLF in a value', { headers: ['host', 'a', 'x-a', 'v\r\nX-Injected: 1'] }],
      ['LF in a value', { headers: ['host', 'a', 'x-a', 'v\nx'] }],
      ['NUL in a value', { headers: ['host', 'a', 'x-a', 'v\0'] }],
      ['a space in a name', { headers: ['host', 'a', 'x a', 'v'] }],
      ['a space in the target', { target: '/a b' }],
      ['an empty target', { target: '' }],
      ['a method that is not a token', { method: 'GET /x' }],
      ['two different Content-Lengths', { method: 'POST', hasBody: true, headers: ['content-length', '1', 'content-length', '2'] }],
      ['a Content-Length that is not a number', { method: 'POST', hasBody: true, headers: ['content-length', '1e3'] }],
      ['CRLF in the upgrade', { upgrade: 'websocket\r\nx: y' }],
    ];
    for (const [what, request] of cases) assert.throws(() => head(request), UnwritableRequest, what);
  });
});
