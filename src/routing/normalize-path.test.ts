import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath } from './normalize-path.ts';

test('different spellings of one path normalize to it', () => {
  for (const raw of ['/%6Dessages', '/%6dessages', '//messages', '/pictures/../messages', '/./messages', '/%2e%2e/messages', '/%2E%2E/messages', '/messages']) {
    assert.equal(normalizePath(raw), '/messages', raw);
  }
});

test('clean paths come back unchanged', () => {
  for (const raw of ['/', '/messages', '/a/b/c/', '/a.b/c.d', '/~user/x-y_z']) {
    assert.equal(normalizePath(raw), raw);
  }
});

test('decodes only unreserved characters and upper-cases other escapes', () => {
  assert.equal(normalizePath('/a%2Fb'), '/a%2Fb');
  assert.equal(normalizePath('/a%2fb'), '/a%2Fb');
  assert.equal(normalizePath('/%41%7a%30%2D%2e%5F%7E'), '/Az0-._~');
  assert.equal(normalizePath('/%20%3f%23%25'), '/%20%3F%23%25');
  assert.equal(normalizePath('/caf%c3%a9'), '/caf%C3%A9');
});

test('decodes once, never twice', () => {
  assert.equal(normalizePath('/%252e%252e/x'), '/%252e%252e/x');
  assert.equal(normalizePath('/%25%32%65'), '/%252e');
});

test('a percent sign without two hex digits is left as written', () => {
  assert.equal(normalizePath('/a%zzb'), '/a%zzb');
  assert.equal(normalizePath('/a%4'), '/a%4');
  assert.equal(normalizePath('/a%'), '/a%');
  assert.equal(normalizePath('/%%41'), '/%A');
});

test('collapses repeated slashes', () => {
  assert.equal(normalizePath('///a////b//'), '/a/b/');
  assert.equal(normalizePath('//'), '/');
});

test('removes dot segments without climbing above the root', () => {
  assert.equal(normalizePath('/a/b/c/./../../g'), '/a/g');
  assert.equal(normalizePath('/../../etc/passwd'), '/etc/passwd');
  assert.equal(normalizePath('/a/%2e%2E/%2E/b'), '/b');
  assert.equal(normalizePath('/a/.%2e/b'), '/b');
  assert.equal(normalizePath('/..'), '/');
  assert.equal(normalizePath('/.'), '/');
});

test('segments that merely contain dots are kept', () => {
  assert.equal(normalizePath('/a/.../b'), '/a/.../b');
  assert.equal(normalizePath('/a/.hidden/..b'), '/a/.hidden/..b');
});

test('keeps a trailing slash, including one left by a dot segment', () => {
  assert.equal(normalizePath('/a/b/'), '/a/b/');
  assert.equal(normalizePath('/a/b/..'), '/a/');
  assert.equal(normalizePath('/a/b/.'), '/a/b/');
  assert.equal(normalizePath('/a/b/%2e%2e'), '/a/');
  assert.equal(normalizePath('/a/..'), '/');
});

test('always starts with a slash', () => {
  assert.equal(normalizePath(''), '/');
  assert.equal(normalizePath('a/b'), '/a/b');
  assert.equal(normalizePath('../a'), '/a');
  assert.equal(normalizePath('%2e%2e/a'), '/a');
});
