import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAddPrefix } from './add-prefix.ts';
import { contextFor } from './context.fixtures.ts';
import { compileRewriteRegex } from './rewrite-regex.ts';
import type { RequestStep, UpstreamRequest } from './types.ts';

function run(step: RequestStep | undefined, path: string): string {
  assert.ok(step);
  const req: UpstreamRequest = { method: 'GET', path, query: 'q=1', headers: [] };
  step(req, contextFor());
  assert.equal(req.query, 'q=1');
  return req.path;
}

test('a regex rewrite uses capture groups', () => {
  const step = compileRewriteRegex({ pattern: '^/old/(.*)$', to: '/new/$1' });
  assert.equal(run(step, '/old/a/b'), '/new/a/b');
  assert.equal(run(step, '/older/a'), '/older/a');
  assert.equal(run(step, '/x/old/a'), '/x/old/a');
});

test('named groups, and a result without a leading slash gets one', () => {
  assert.equal(run(compileRewriteRegex({ pattern: '^/u/(?<id>[0-9]+)$', to: '/users/$<id>/profile' }), '/u/42'), '/users/42/profile');
  assert.equal(run(compileRewriteRegex({ pattern: '^/api/', to: '' }), '/api/x'), '/x');
});

test('no rule, no step', () => {
  assert.equal(compileRewriteRegex(undefined), undefined);
  assert.equal(compileAddPrefix(''), undefined);
});

test('add_prefix puts the prefix in front without doubling the slash', () => {
  assert.equal(run(compileAddPrefix('/api'), '/users'), '/api/users');
  assert.equal(run(compileAddPrefix('/api/'), '/'), '/api/');
});
