import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostFromHeader } from './host.ts';

test('lower-cases and drops the port', () => {
  assert.equal(hostFromHeader('WWW.Mango.com:8080'), 'www.mango.com');
  assert.equal(hostFromHeader('www.mango.com'), 'www.mango.com');
  assert.equal(hostFromHeader('10.0.0.1:80'), '10.0.0.1');
});

test('keeps IPv6 literals whole', () => {
  assert.equal(hostFromHeader('[::1]:80'), '[::1]');
  assert.equal(hostFromHeader('[::1]'), '[::1]');
  assert.equal(hostFromHeader('[2001:DB8::1]:443'), '[2001:db8::1]');
});

test('removes a trailing dot', () => {
  assert.equal(hostFromHeader('www.mango.com.'), 'www.mango.com');
  assert.equal(hostFromHeader('WWW.mango.com.:8080'), 'www.mango.com');
});

test('absent or empty is ""', () => {
  assert.equal(hostFromHeader(undefined), '');
  assert.equal(hostFromHeader(''), '');
  assert.equal(hostFromHeader(':8080'), '');
});
