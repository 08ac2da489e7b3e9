import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRequestHeaders } from './request-headers.ts';
import type { RequestStep, UpstreamRequest } from './types.ts';

function run(step: RequestStep, headers: string[]): string[] {
  const req: UpstreamRequest = { method: 'GET', path: '/', query: '', headers };
  step(req, { clientIp: '127.0.0.1', host: '', normalizedPath: '/' });
  return req.headers;
}

function compile(remove: string[], add: Array<[string, string]> = []): RequestStep {
  const step = compileRequestHeaders({ remove, add });
  assert.ok(step);
  return step;
}

test('no rules means no step', () => {
  assert.equal(compileRequestHeaders({ add: [], remove: [] }), undefined);
});

test('removes every header with a listed name, whatever its case', () => {
  const step = compile(['cookie', 'x-debug']);
  assert.deepEqual(
    run(step, ['Host', 'h', 'Cookie', 'a=1', 'Accept', '*/*', 'COOKIE', 'b=2', 'x-Debug', '1', 'X-Debugger', 'y']),
    ['Host', 'h', 'Accept', '*/*', 'X-Debugger', 'y'],
  );
});

test('keeps other headers, their spelling, duplicates and order', () => {
  const headers = ['X-A', '1', 'x-b', '2', 'X-A', '3'];
  assert.deepEqual(run(compile(['x-c']), headers.slice()), headers);
});

test('changes the array in place', () => {
  const headers = ['A', '1', 'B', '2'];
  const req: UpstreamRequest = { method: 'GET', path: '/', query: '', headers };
  compile(['a'], [['C', '3']])(req, { clientIp: '', host: '', normalizedPath: '/' });
  assert.equal(req.headers, headers);
  assert.deepEqual(headers, ['B', '2', 'C', '3']);
});

test('adds append and replace nothing', () => {
  const step = compile([], [
    ['X-Forwarded-Proto', 'https'],
    ['Accept', 'text/html'],
  ]);
  assert.deepEqual(run(step, ['Accept', '*/*']), ['Accept', '*/*', 'X-Forwarded-Proto', 'https', 'Accept', 'text/html']);
  assert.deepEqual(run(step, []), ['X-Forwarded-Proto', 'https', 'Accept', 'text/html']);
});

test('removal comes before adding, so a header can be replaced', () => {
  const step = compile(['accept'], [['Accept', 'text/html']]);
  assert.deepEqual(run(step, ['Accept', '*/*', 'Host', 'h']), ['Host', 'h', 'Accept', 'text/html']);
});

test('remove names from the config are compared case-insensitively', () => {
  assert.deepEqual(run(compile(['X-Debug']), ['x-debug', '1', 'Y', '2']), ['Y', '2']);
});
