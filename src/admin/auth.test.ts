import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptsHost, authorize, bearerToken, hostOfHeader, sameOrigin, tokenMatches } from './auth.ts';

const bearer = (token: string): string => `Bearer ${token}`;

test('without a token, a loopback listener is open to everything', () => {
  const policy = { token: undefined, loopback: true };
  for (const access of ['read', 'secret', 'change'] as const) assert.deepEqual(authorize(access, policy, undefined), { ok: true });
});

test('without a token, a listener off loopback lets nothing through (startAdmin refuses to start it anyway)', () => {
  const verdict = authorize('read', { token: undefined, loopback: false }, undefined);
  assert.equal(verdict.ok, false);
  assert.equal(!verdict.ok && verdict.status, 403);
});

test('with a token on loopback: reading is open; secrets and changes need the token, 401 without, 403 wrong', () => {
  const policy = { token: 'tok', loopback: true };
  assert.deepEqual(authorize('read', policy, undefined), { ok: true });
  for (const access of ['secret', 'change'] as const) {
    assert.equal(statusOf(authorize(access, policy, undefined)), 401);
    assert.equal(statusOf(authorize(access, policy, 'Basic dG9rOg==')), 401);
    assert.equal(statusOf(authorize(access, policy, bearer('tok2'))), 403);
    assert.equal(statusOf(authorize(access, policy, bearer('to'))), 403);
    assert.deepEqual(authorize(access, policy, bearer('tok')), { ok: true });
  }
});

test('with a token off loopback, reading needs it too', () => {
  const policy = { token: 'tok', loopback: false };
  for (const access of ['read', 'secret', 'change'] as const) {
    assert.equal(statusOf(authorize(access, policy, undefined)), 401);
    assert.equal(statusOf(authorize(access, policy, bearer('nope'))), 403);
    assert.deepEqual(authorize(access, policy, bearer('tok')), { ok: true });
  }
});

test('bearerToken reads "Bearer TOKEN" in any case of the scheme, and nothing else', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer   abc  '), 'abc');
  assert.equal(bearerToken('Bearer'), undefined);
  assert.equal(bearerToken('Bearer a b'), undefined);
  assert.equal(bearerToken('Token abc'), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

test('tokenMatches compares whole tokens of any length', () => {
  assert.equal(tokenMatches('abc', 'abc'), true);
  assert.equal(tokenMatches('abc', 'abd'), false);
  assert.equal(tokenMatches('ab', 'abc'), false);
  assert.equal(tokenMatches('', 'abc'), false);
  assert.equal(tokenMatches('x'.repeat(10_000), 'abc'), false);
});

test('a loopback listener answers only to loopback Host names; others to any', () => {
  for (const host of ['127.0.0.1:9901', '127.1.2.3', 'localhost:9901', 'LOCALHOST', '[::1]:9901', '[::1]', 'localhost.:1']) {
    assert.equal(acceptsHost(host, true), true, host);
  }
  for (const host of ['evil.example', 'evil.example:9901', '10.0.0.1:9901', '[::2]:1', '', undefined]) assert.equal(acceptsHost(host, true), false, String(host));
  assert.equal(acceptsHost('weir.internal:9901', false), true);
  assert.equal(hostOfHeader('[::1]:80'), '::1');
  assert.equal(hostOfHeader('a.example:80'), 'a.example');
});

test('a changing request from a page must come from the admin\'s own origin', () => {
  assert.equal(sameOrigin(undefined, '127.0.0.1:9901'), true, 'not from a page');
  assert.equal(sameOrigin('http://127.0.0.1:9901', '127.0.0.1:9901'), true);
  assert.equal(sameOrigin('https://admin.example', 'admin.example'), true);
  assert.equal(sameOrigin('http://evil.example', '127.0.0.1:9901'), false);
  assert.equal(sameOrigin('http://127.0.0.1:9902', '127.0.0.1:9901'), false);
  assert.equal(sameOrigin('null', '127.0.0.1:9901'), false);
});

function statusOf(verdict: ReturnType<typeof authorize>): number | undefined {
  return verdict.ok ? undefined : verdict.status;
}
