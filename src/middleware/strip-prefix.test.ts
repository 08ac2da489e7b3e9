import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextFor } from './context.fixtures.ts';
import { compileStripPrefix } from './strip-prefix.ts';
import type { RequestStep, UpstreamRequest } from './types.ts';
import { normalizePath } from '../routing/normalize-path.ts';

function run(step: RequestStep, path: string): string {
  const req: UpstreamRequest = { method: 'GET', path, query: '', headers: [] };
  step(req, contextFor({ normalizedPath: normalizePath(path) }));
  return req.path;
}

function compile(prefix: string): RequestStep {
  const step = compileStripPrefix(prefix);
  assert.ok(step);
  return step;
}

test('nothing to strip means no step', () => {
  assert.equal(compileStripPrefix(''), undefined);
  assert.equal(compileStripPrefix('/'), undefined);
});

test('strips on a segment boundary and leaves at least "/"', () => {
  const step = compile('/mango');
  assert.equal(run(step, '/mango'), '/');
  assert.equal(run(step, '/mango/'), '/');
  assert.equal(run(step, '/mango/x'), '/x');
  assert.equal(run(step, '/mango/x/y/'), '/x/y/');
});

test('a path without the prefix is left alone', () => {
  const step = compile('/mango');
  assert.equal(run(step, '/mangox'), '/mangox');
  assert.equal(run(step, '/apple/mango'), '/apple/mango');
  assert.equal(run(step, '/'), '/');
});

test('a prefix written with a trailing slash strips the same segment', () => {
  const step = compile('/mango/');
  assert.equal(run(step, '/mango'), '/');
  assert.equal(run(step, '/mango/x'), '/x');
});

test('strips only once', () => {
  assert.equal(run(compile('/mango'), '/mango/mango/x'), '/mango/x');
});

test('keeps the client encoding of the rest of the path', () => {
  assert.equal(run(compile('/mango'), '/mango/a%2fb%20c'), '/a%2fb%20c');
});

test('a prefix spelled differently by the client is still stripped', () => {
  const step = compile('/mango');
  assert.equal(run(step, '/%6Dango/x'), '/x');
  assert.equal(run(step, '//mango/x'), '/x');
  assert.equal(run(step, '/./mango'), '/');
  assert.equal(run(step, '//other/x'), '//other/x');
});
