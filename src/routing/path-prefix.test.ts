import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePathPrefix } from './path-prefix.ts';

test('a prefix matches on segment boundaries', () => {
  const matches = compilePathPrefix('/api');
  assert.equal(matches('/api'), true);
  assert.equal(matches('/api/'), true);
  assert.equal(matches('/api/x'), true);
  assert.equal(matches('/apix'), false);
  assert.equal(matches('/ap'), false);
  assert.equal(matches('/'), false);
});

test('a prefix written with a trailing slash needs that slash', () => {
  const matches = compilePathPrefix('/api/');
  assert.equal(matches('/api/x'), true);
  assert.equal(matches('/api/'), true);
  assert.equal(matches('/api'), false);
  assert.equal(matches('/apix'), false);
});

test('"/" matches every path', () => {
  const matches = compilePathPrefix('/');
  assert.equal(matches('/'), true);
  assert.equal(matches('/anything/at/all'), true);
});
