import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closestMatch, didYouMean, editDistance } from './did-you-mean.ts';

test('edit distance counts inserts, deletes, substitutions and swaps', () => {
  assert.equal(editDistance('service', 'service'), 0);
  assert.equal(editDistance('sevice', 'service'), 1);
  assert.equal(editDistance('servicee', 'service'), 1);
  assert.equal(editDistance('servise', 'service'), 1);
  assert.equal(editDistance('sevrice', 'service'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('suggests the closest key when it is a likely typo', () => {
  const keys = ['name', 'host', 'path', 'path_exact', 'path_regex', 'service', 'strip_prefix'];
  assert.equal(closestMatch('sevice', keys), 'service');
  assert.equal(closestMatch('path_exakt', keys), 'path_exact');
  assert.equal(closestMatch('strip-prefix', keys), 'strip_prefix');
  assert.equal(closestMatch('stripPrefix', keys), 'strip_prefix');
  assert.equal(closestMatch('Host', keys), 'host');
});

test('suggests nothing for a different word or a very short one', () => {
  assert.equal(closestMatch('backend', ['api', 'web']), undefined);
  assert.equal(closestMatch('web', ['api']), undefined);
  assert.equal(closestMatch('x', ['y']), undefined);
  assert.equal(closestMatch('anything', []), undefined);
});

test('didYouMean is a suffix for a message, or empty', () => {
  assert.equal(didYouMean('apii', ['api', 'web']), '; did you mean "api"?');
  assert.equal(didYouMean('zzz', ['api', 'web']), '');
});
