import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextFor } from './context.fixtures.ts';
import { compileHeaderRules, type HeaderEdit } from './headers.ts';

function run(step: HeaderEdit, headers: string[]): string[] {
  step(headers, contextFor());
  return headers;
}

function compile(remove: string[], add: Array<[string, string]> = [], set: Array<[string, string]> = []): HeaderEdit {
  const step = compileHeaderRules({ remove, add, set });
  assert.ok(step);
  return step;
}

test('no rules means no step', () => {
  assert.equal(compileHeaderRules({ add: [], set: [], remove: [] }), undefined);
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
  compile(['a'], [['C', '3']])(headers, contextFor());
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

test('set replaces every header of that name, whatever its case, and adds it when absent', () => {
  const step = compile([], [], [['X-Env', 'prod']]);
  assert.deepEqual(run(step, ['x-env', 'dev', 'A', '1', 'X-ENV', 'test']), ['A', '1', 'X-Env', 'prod']);
  assert.deepEqual(run(step, []), ['X-Env', 'prod']);
});

test('remove, then set, then add', () => {
  const step = compile(['x-old'], [['X-Tag', 'b']], [['X-Tag', 'a']]);
  assert.deepEqual(run(step, ['X-Old', '1', 'X-Tag', 'client']), ['X-Tag', 'a', 'X-Tag', 'b']);
});

test('values expand variables per request', () => {
  const step = compile([], [['X-Client', '${client_ip} via ${route}']], [['X-Request', '${method} ${request_uri} (${request_id})']]);
  const headers: string[] = [];
  step(headers, contextFor({ clientIp: '10.1.2.3', method: 'POST', path: '/a%20b', query: 'x=1', requestId: 'abc' }));
  assert.deepEqual(headers, ['X-Request', 'POST /a%20b?x=1 (abc)', 'X-Client', '10.1.2.3 via test route']);
});

test('a variable cannot carry a line break into a header, whatever the request held', () => {
  const step = compile([], [['X-Host', 'h=${host}']]);
  const headers: string[] = [];
  step(headers, contextFor({ host: 'evil.com\r\nSet-Cookie: a=b\u0000' }));
  assert.deepEqual(headers, ['X-Host', 'h=evil.comSet-Cookie: a=b']);
});
