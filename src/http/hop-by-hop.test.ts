import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionTokens, isHopByHop } from './hop-by-hop.ts';

test('every header of one connection is hop-by-hop (RFC 9110 7.6.1, and HTTP/2 upgrades)', () => {
  for (const name of ['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'http2-settings']) {
    assert.equal(isHopByHop(name), true, name);
  }
});

test('end-to-end headers are not, even those whose names start like one', () => {
  for (const name of ['host', 'content-length', 'content-type', 'x-forwarded-for', 'via', 'upgrade-insecure-requests', 'keep-alive-timeout', 'x-connection']) {
    assert.equal(isHopByHop(name), false, name);
  }
});

test('Connection names more hop-by-hop headers: each token, trimmed and lower-cased, from every Connection line', () => {
  assert.deepEqual(connectionTokens(['Upgrade']), new Set(['upgrade']));
  assert.deepEqual(connectionTokens(['keep-alive, X-Trace-Hop', ' x-other ,, CLOSE ']), new Set(['keep-alive', 'x-trace-hop', 'x-other', 'close']));
  assert.deepEqual(connectionTokens(['Upgrade, HTTP2-Settings']), new Set(['upgrade', 'http2-settings']));
});

test('no Connection header, or one with no names, names nothing', () => {
  assert.equal(connectionTokens([]), undefined);
  assert.equal(connectionTokens([' , ,'])?.size ?? 0, 0);
});
