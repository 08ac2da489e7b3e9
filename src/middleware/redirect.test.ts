import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextFor } from './context.fixtures.ts';
import { compileConditionalRedirect, compileRedirect } from './redirect.ts';

test('https_redirect sends plain HTTP to https on the same host and URI, without the port', () => {
  const check = compileConditionalRedirect({ httpsRedirect: true });
  assert.ok(check);
  const ctx = contextFor({ host: 'example.com', path: '/a%20b', query: 'x=1', rawHeaders: ['Host', 'example.com:8080'] });
  assert.deepEqual(check(ctx), { status: 301, location: 'https://example.com/a%20b?x=1' });
  assert.deepEqual(check({ ...ctx, method: 'POST' }), { status: 308, location: 'https://example.com/a%20b?x=1' });
  assert.equal(check({ ...ctx, scheme: 'https' }), undefined);
});

test('canonical_host sends other hosts to the canonical one, keeping scheme and port', () => {
  const check = compileConditionalRedirect({ httpsRedirect: false, canonicalHost: 'www.example.com' });
  assert.ok(check);
  const ctx = contextFor({ host: 'example.com', path: '/p', rawHeaders: ['Host', 'Example.com:8080'] });
  assert.deepEqual(check(ctx), { status: 301, location: 'http://www.example.com:8080/p' });
  assert.equal(check({ ...ctx, host: 'www.example.com' }), undefined);
});

test('both at once make one hop', () => {
  const check = compileConditionalRedirect({ httpsRedirect: true, canonicalHost: 'www.example.com' });
  assert.deepEqual(check?.(contextFor({ host: 'example.com', path: '/', rawHeaders: ['Host', 'example.com:80'] })), { status: 301, location: 'https://www.example.com/' });
  assert.deepEqual(check?.(contextFor({ host: 'www.example.com', scheme: 'https' })), undefined);
});

test('neither: no check', () => {
  assert.equal(compileConditionalRedirect({ httpsRedirect: false }), undefined);
});

test('redirect expands its template', () => {
  const redirect = compileRedirect({ status: 307, to: 'https://new.example.com${request_uri}' });
  assert.deepEqual(redirect(contextFor({ path: '/x', query: 'y' })), { status: 307, location: 'https://new.example.com/x?y' });
});
