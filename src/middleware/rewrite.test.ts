import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextFor } from './context.fixtures.ts';
import { compileRewrite } from './rewrite.ts';
import type { RequestStep, UpstreamRequest } from './types.ts';

function run(step: RequestStep, path: string): string {
  const req: UpstreamRequest = { method: 'GET', path, query: 'q=1', headers: [] };
  step(req, contextFor({ normalizedPath: path }));
  assert.equal(req.query, 'q=1');
  return req.path;
}

function compile(replace: Array<[string, string]>): RequestStep {
  const step = compileRewrite({ replace });
  assert.ok(step);
  return step;
}

test('no replacements means no step', () => {
  assert.equal(compileRewrite({ replace: [] }), undefined);
});

test('replaces every occurrence', () => {
  assert.equal(run(compile([['old', 'new']]), '/old/x/old/oldold'), '/new/x/new/newnew');
});

test('applies replacements in order', () => {
  const step = compile([
    ['/v1/', '/api/v1/'],
    ['api', 'API'],
  ]);
  assert.equal(run(step, '/v1/users'), '/API/v1/users');
  const reversed = compile([
    ['api', 'API'],
    ['/v1/', '/api/v1/'],
  ]);
  assert.equal(run(reversed, '/v1/users'), '/api/v1/users');
});

test('a path without the text is unchanged', () => {
  assert.equal(run(compile([['zzz', 'y']]), '/a/b'), '/a/b');
});

test('replacement text is literal', () => {
  assert.equal(run(compile([['x', '$&$&$$']]), '/x'), '/$&$&$$');
  assert.equal(run(compile([['.', '-']]), '/a.b.c'), '/a-b-c');
});

test('the result still starts with "/"', () => {
  assert.equal(run(compile([['/api', '']]), '/api'), '/');
  assert.equal(run(compile([['/api/', '']]), '/api/x'), '/x');
});

test('an empty "from" is refused at compile time', () => {
  assert.throws(() => compileRewrite({ replace: [['', 'x']] }));
});
