import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextFor } from './context.fixtures.ts';
import { compileTemplate, isConstantTemplate, parseTemplate, withoutControlCharacters } from './template.ts';

test('a template joins text and variables', () => {
  const template = compileTemplate('https://${host}${request_uri}');
  assert.equal(template(contextFor({ host: 'example.com', path: '/a', query: 'b=1' })), 'https://example.com/a?b=1');
  assert.equal(template(contextFor({ host: 'example.com', path: '/a', query: '' })), 'https://example.com/a');
});

test('every documented variable expands', () => {
  const ctx = contextFor({ clientIp: '10.0.0.9', remoteAddr: '10.0.0.1', scheme: 'https', method: 'PUT', routeName: 'api' });
  assert.equal(compileTemplate('${client_ip}|${remote_addr}|${scheme}|${method}|${route}|${request_id}|${query}|${path}')(ctx), '10.0.0.9|10.0.0.1|https|PUT|api|req-1||/');
});

test('unknown variables and unclosed braces are refused, naming the known ones', () => {
  const unknown = parseTemplate('${client}');
  assert.equal(unknown.ok, false);
  assert.match(unknown.ok ? '' : unknown.message, /unknown variable \$\{client\}; the variables are \$\{client_ip\}/);
  const unclosed = parseTemplate('a ${host');
  assert.equal(unclosed.ok, false);
  assert.throws(() => compileTemplate('${nope}'), /unknown variable/);
});

test('a lone dollar sign is text, and constant templates are recognised', () => {
  assert.equal(compileTemplate('costs $5')(contextFor()), 'costs $5');
  assert.equal(isConstantTemplate('costs $5'), true);
  assert.equal(isConstantTemplate('${host}'), false);
});

test('control characters other than tab are removed from expanded values', () => {
  assert.equal(withoutControlCharacters('a\r\nb\u0000c\td\u007f'), 'abc\td');
  assert.equal(compileTemplate('x${path}')(contextFor({ path: '/\r\nSet-Cookie: x' })), 'x/Set-Cookie: x');
});
