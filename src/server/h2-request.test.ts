import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readH2RequestHead } from './h2-request.ts';

describe('readH2RequestHead', () => {
  it('takes method, path and authority from the pseudo-headers and forwards none of them', () => {
    const head = readH2RequestHead([':method', 'POST', ':scheme', 'https', ':authority', 'a.example:8443', ':path', '/up?x=1', 'content-type', 'text/plain']);
    assert.deepEqual(head, { method: 'POST', url: '/up?x=1', authority: 'a.example:8443', rawHeaders: ['host', 'a.example:8443', 'content-type', 'text/plain'] });
  });

  it('keeps a Host the client sent, and adds none', () => {
    const head = readH2RequestHead([':method', 'GET', ':authority', 'a.example', ':path', '/', 'host', 'a.example']);
    assert.deepEqual(head.rawHeaders, ['host', 'a.example']);
  });

  it('joins cookie fields with "; " into one, where the first was (RFC 9113 section 8.2.3)', () => {
    const head = readH2RequestHead([':method', 'GET', ':path', '/', 'cookie', 'a=1', 'accept', '*/*', 'cookie', 'b=2', 'cookie', 'c=3']);
    assert.deepEqual(head.rawHeaders, ['cookie', 'a=1; b=2; c=3', 'accept', '*/*']);
  });

  it('takes the authority as the target of a CONNECT, which has no :path', () => {
    assert.deepEqual(readH2RequestHead([':method', 'CONNECT', ':authority', 'a.example:443']).url, 'a.example:443');
  });
});
