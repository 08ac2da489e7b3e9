import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextFor } from './context.fixtures.ts';
import { compileQuery } from './query.ts';
import type { RequestStep, UpstreamRequest } from './types.ts';

function run(step: RequestStep, query: string): string {
  const req: UpstreamRequest = { method: 'GET', path: '/p', query, headers: [] };
  step(req, contextFor({ normalizedPath: '/p' }));
  assert.equal(req.path, '/p');
  return req.query;
}

function compile(remove: string[], add: Array<[string, string]> = [], set: Array<[string, string]> = []): RequestStep {
  const step = compileQuery({ remove, add, set });
  assert.ok(step);
  return step;
}

test('no rules means no step', () => {
  assert.equal(compileQuery({ add: [], set: [], remove: [] }), undefined);
});

test('removes every occurrence of a parameter', () => {
  const step = compile(['utm_source']);
  assert.equal(run(step, 'a=1&utm_source=x&b=2&utm_source=y'), 'a=1&b=2');
  assert.equal(run(step, 'utm_source=x'), '');
  assert.equal(run(step, 'utm_source=x&a=1'), 'a=1');
  assert.equal(run(step, 'a=1&utm_source'), 'a=1');
  assert.equal(run(step, 'utm_source&utm_source='), '');
});

test('matches names exactly, by their decoded form', () => {
  const step = compile(['utm source', 'key']);
  assert.equal(run(step, 'utm+source=1&utm%20source=2&k%65y=3&keys=4&KEY=5&ke=6'), 'keys=4&KEY=5&ke=6');
});

test('leaves untouched parameters exactly as written, in order', () => {
  const step = compile(['drop']);
  assert.equal(run(step, 'z=%7e&a=b%2Bc&drop=1&m=&n&x=1=2'), 'z=%7e&a=b%2Bc&m=&n&x=1=2');
  assert.equal(run(step, 'z=%7e&a=b%2Bc'), 'z=%7e&a=b%2Bc');
});

test('a value equal to a listed name does not remove the parameter', () => {
  assert.equal(run(compile(['drop']), 'a=drop&drop=a'), 'a=drop');
});

test('a malformed escape in a name does not throw', () => {
  const step = compile(['%zz']);
  assert.equal(run(step, '%zz=1&a=2'), 'a=2');
  assert.equal(run(step, '%=1&a=2'), '%=1&a=2');
});

test('adds encoded parameters at the end', () => {
  const step = compile([], [
    ['api key', 'a&b=c'],
    ['x', 'é'],
  ]);
  assert.equal(run(step, ''), 'api%20key=a%26b%3Dc&x=%C3%A9');
  assert.equal(run(step, 'q=1'), 'q=1&api%20key=a%26b%3Dc&x=%C3%A9');
  assert.equal(run(step, 'q=1&'), 'q=1&api%20key=a%26b%3Dc&x=%C3%A9');
});

test('removes before adding, so a parameter can be replaced', () => {
  const step = compile(['key'], [['key', 'new']]);
  assert.equal(run(step, 'key=old&a=1'), 'a=1&key=new');
  assert.equal(run(step, ''), 'key=new');
});

test('set replaces every parameter of that name and keeps the others as written', () => {
  const step = compile([], [], [['page', '1']]);
  assert.equal(run(step, 'a=%7e&page=5&page=6&b'), 'a=%7e&b&page=1');
  assert.equal(run(step, ''), 'page=1');
});

test('set comes before add, after remove', () => {
  assert.equal(run(compile(['utm'], [['tag', 'b']], [['tag', 'a']]), 'utm=x&tag=c'), 'tag=a&tag=b');
});

test('values may use variables, and what they expand to is encoded', () => {
  const step = compileQuery({ add: [['from', '${client_ip}']], set: [['route', '${route}']], remove: [] });
  assert.ok(step);
  const req: UpstreamRequest = { method: 'GET', path: '/', query: 'x=1', headers: [] };
  step(req, contextFor({ clientIp: '::1', routeName: 'a&b=c' }));
  assert.equal(req.query, 'x=1&route=a%26b%3Dc&from=%3A%3A1');
});
