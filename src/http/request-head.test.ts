// The headers weir forwards each way: hop-by-hop ones (and whatever
// Connection names) never cross, the forwarding headers are weir's to write
// (kept from a trusted proxy, replaced otherwise), and Via grows by one hop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendForwardingHeaders, readClientRequestHead, responseHeadersForClient, type ForwardingFacts } from './request-head.ts';

/** [name, value] pairs of a flat list, for readable comparisons. */
function pairs(flat: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

function values(flat: readonly string[], name: string): string[] {
  return pairs(flat)
    .filter(([n]) => n.toLowerCase() === name)
    .map(([, v]) => v);
}

/** Reads a head and writes the forwarding headers, as the client phase does. */
function forwarded(raw: string[], facts: ForwardingFacts, requestIdHeader?: string): string[] {
  const head = readClientRequestHead(raw, requestIdHeader);
  appendForwardingHeaders(head, raw, facts);
  return head.headers;
}

const stranger: ForwardingFacts = { hop: '203.0.113.5', trusted: false, scheme: 'http' };
const proxy: ForwardingFacts = { hop: '10.0.0.2', trusted: true, scheme: 'https' };

describe('readClientRequestHead', () => {
  it('drops hop-by-hop headers and those Connection names, keeping the rest in order and as spelled', () => {
    const head = readClientRequestHead(
      [
        'Host', 'a.example',
        'Connection', 'keep-alive, X-Secret',
        'connection', 'x-other',
        'Keep-Alive', 'timeout=5',
        'Proxy-Connection', 'keep-alive',
        'TE', 'trailers',
        'Transfer-Encoding', 'chunked',
        'Upgrade', 'h2c',
        'HTTP2-Settings', 'AAMAAABkAAQAAP__',
        'X-Secret', 'hop only',
        'X-Other', 'hop only too',
        'Accept', '*/*',
        'cookie', 'a=1',
        'Cookie', 'b=2',
      ],
      undefined,
    );
    assert.deepEqual(pairs(head.headers), [
      ['Host', 'a.example'],
      ['Accept', '*/*'],
      ['cookie', 'a=1'],
      ['Cookie', 'b=2'],
      ['via', '1.1 weir'],
    ]);
    assert.equal(head.hasBody, true, 'Transfer-Encoding means a body');
    assert.equal(head.contentLength, undefined);
  });

  it('drops Expect, the forwarding headers, Via and the request id header: they are weir\'s to write', () => {
    const head = readClientRequestHead(
      [
        'Host', 'a.example',
        'Expect', '100-continue',
        'X-Forwarded-For', '198.51.100.1',
        'X-Forwarded-Proto', 'HTTPS, http',
        'X-Forwarded-Host', 'b.example',
        'X-Forwarded-For', '198.51.100.2',
        'x-forwarded-proto', 'http',
        'Via', '1.0 edge',
        'X-Request-Id', 'first',
        'x-request-id', 'second',
        'Content-Length', '12',
        'X-Keep', 'yes',
      ],
      'x-request-id',
    );
    assert.deepEqual(pairs(head.headers), [
      ['Host', 'a.example'],
      ['Content-Length', '12'],
      ['X-Keep', 'yes'],
      ['via', '1.0 edge, 1.1 weir'],
    ]);
    assert.equal(head.host, 'a.example');
    assert.equal(head.forwardedFor, '198.51.100.1, 198.51.100.2', 'every line, in order');
    assert.equal(head.forwardedProto, 'https', 'the first value of the first line, lower-case');
    assert.equal(head.requestId, 'first');
    assert.equal(head.contentLength, 12);
    assert.equal(head.hasBody, true);
  });

  it('keeps the request id header as an ordinary one when request ids are off', () => {
    const head = readClientRequestHead(['Host', 'a', 'X-Request-Id', 'abc'], undefined);
    assert.equal(head.requestId, undefined);
    assert.deepEqual(values(head.headers, 'x-request-id'), ['abc']);
  });

  it('sees no body for Content-Length: 0 or no framing header', () => {
    assert.equal(readClientRequestHead(['Host', 'a', 'Content-Length', '0'], undefined).hasBody, false);
    assert.equal(readClientRequestHead(['Host', 'a', 'Content-Length', '0'], undefined).contentLength, 0);
    assert.equal(readClientRequestHead(['Host', 'a'], undefined).hasBody, false);
    assert.equal(readClientRequestHead([], undefined).host, undefined);
  });

  it('joins every Via line and appends its own hop', () => {
    const head = readClientRequestHead(['Via', '1.0 edge', 'Host', 'a', 'via', '1.1 cdn'], undefined);
    assert.deepEqual(values(head.headers, 'via'), ['1.0 edge, 1.1 cdn, 1.1 weir']);
  });

  it('names the protocol the request came in on its Via hop: "2 weir" for HTTP/2', () => {
    const head = readClientRequestHead(['host', 'a', 'via', '2 edge'], undefined, '2');
    assert.deepEqual(values(head.headers, 'via'), ['2 edge, 2 weir']);
  });
});

describe('appendForwardingHeaders', () => {
  const raw = [
    'Host', 'a.example:8080',
    'X-Forwarded-For', '198.51.100.1',
    'X-Forwarded-Proto', 'https',
    'X-Forwarded-Host', 'public.example',
    'X-Request-Id', 'from-client',
  ];

  it('from an untrusted peer, replaces X-Forwarded-For by the hop, -Proto by the scheme and -Host by Host', () => {
    const headers = forwarded(raw, stranger);
    assert.deepEqual(values(headers, 'x-forwarded-for'), ['203.0.113.5']);
    assert.deepEqual(values(headers, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(values(headers, 'x-forwarded-host'), ['a.example:8080']);
  });

  it('from a trusted proxy, extends X-Forwarded-For and keeps X-Forwarded-Host', () => {
    const headers = forwarded(raw, proxy);
    assert.deepEqual(values(headers, 'x-forwarded-for'), ['198.51.100.1, 10.0.0.2']);
    assert.deepEqual(values(headers, 'x-forwarded-proto'), ['https']);
    assert.deepEqual(values(headers, 'x-forwarded-host'), ['public.example']);
  });

  it('from a trusted proxy that sent none, writes them as for anyone', () => {
    const headers = forwarded(['Host', 'a.example'], proxy);
    assert.deepEqual(values(headers, 'x-forwarded-for'), ['10.0.0.2']);
    assert.deepEqual(values(headers, 'x-forwarded-host'), ['a.example']);
  });

  it('writes no X-Forwarded-Host when there is no Host', () => {
    assert.deepEqual(values(forwarded([], stranger), 'x-forwarded-host'), []);
  });

  it('writes the request id once, under the configured name, with the value decided', () => {
    const headers = forwarded(raw, { ...stranger, requestId: { header: 'X-Request-Id', value: 'decided' } }, 'x-request-id');
    assert.deepEqual(values(headers, 'x-request-id'), ['decided']);
    assert.ok(headers.includes('X-Request-Id'));
    assert.deepEqual(values(forwarded(['Host', 'a'], stranger), 'x-request-id'), [], 'none when ids are off');
  });
});

describe('responseHeadersForClient', () => {
  it('drops hop-by-hop headers and those Connection names, and appends Via to the backend\'s', () => {
    const headers = responseHeadersForClient(
      [
        'Content-Type', 'text/plain',
        'Connection', 'keep-alive, X-Backend-Hop',
        'Keep-Alive', 'timeout=5',
        'Transfer-Encoding', 'chunked',
        'Upgrade', 'h2c',
        'X-Backend-Hop', 'secret',
        'Via', '1.0 edge',
        'Set-Cookie', 'a=1',
        'Set-Cookie', 'b=2',
        'Caf\u00e9', 'latin1 \u00e9',
      ],
    );
    assert.deepEqual(pairs(headers), [
      ['Content-Type', 'text/plain'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['Caf\u00e9', 'latin1 \u00e9'],
      ['via', '1.0 edge, 1.1 weir'],
    ]);
  });

  it('keeps what a plain Connection: keep-alive or close does not name', () => {
    assert.deepEqual(pairs(responseHeadersForClient(['Connection', 'Keep-Alive', 'Keep-Alive', 'timeout=5', 'X-A', '1'])), [['X-A', '1'], ['via', '1.1 weir']]);
    assert.deepEqual(pairs(responseHeadersForClient(['Connection', 'close', 'X-A', '1'])), [['X-A', '1'], ['via', '1.1 weir']]);
  });

  it('adds its own Via when the backend sent none', () => {
    assert.deepEqual(pairs(responseHeadersForClient(['Content-Length', '0'])), [
      ['Content-Length', '0'],
      ['via', '1.1 weir'],
    ]);
  });
});
