import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeServerName, SniTable } from './sni.ts';

const table = new SniTable([
  { names: ['default.example.org'], value: 'default' },
  { names: ['*.example.net'], value: 'wildcard' },
  { names: ['www.example.net', 'Example.NET'], value: 'exact' },
  { names: ['*.b.example.net'], value: 'deeper wildcard' },
]);

test('an exact name beats a wildcard that also covers it', () => {
  assert.equal(table.pick('www.example.net'), 'exact');
  assert.equal(table.pick('example.net'), 'exact');
});

test('a wildcard covers exactly one label', () => {
  assert.equal(table.pick('api.example.net'), 'wildcard');
  assert.equal(table.pick('a.b.example.net'), 'deeper wildcard');
  assert.equal(table.pick('x.a.example.net'), 'default', 'two labels in front of a single-label wildcard');
  assert.equal(table.match('x.a.example.net'), undefined);
  assert.equal(table.pick('.example.net'), 'default', 'an empty label is not a label');
});

test('names compare case-insensitively and without a trailing dot', () => {
  assert.equal(table.pick('WWW.Example.Net.'), 'exact');
  assert.equal(table.pick('API.EXAMPLE.NET'), 'wildcard');
  assert.equal(table.pick('api.example.net.'), 'wildcard');
});

test('no SNI or an unknown name gets the first certificate', () => {
  assert.equal(table.pick(undefined), 'default');
  assert.equal(table.pick(''), 'default');
  assert.equal(table.pick('elsewhere.test'), 'default');
  assert.equal(table.match('elsewhere.test'), undefined);
  assert.equal(table.default, 'default');
});

test('the earlier certificate wins a name two certificates share', () => {
  const shared = new SniTable([
    { names: ['a.test', '*.test'], value: 1 },
    { names: ['a.test', '*.test', 'b.test'], value: 2 },
  ]);
  assert.equal(shared.pick('a.test'), 1);
  assert.equal(shared.pick('c.test'), 1);
  assert.equal(shared.pick('b.test'), 2);
});

test('malformed wildcards match nothing', () => {
  const odd = new SniTable([
    { names: ['first.test'], value: 'default' },
    { names: ['w*.test', '*.*.test', '*.'], value: 'odd' },
  ]);
  assert.equal(odd.match('www.test'), undefined);
  assert.equal(odd.match('a.b.test'), undefined);
  assert.equal(odd.match('w*.test'), undefined);
});

test('an empty table picks nothing', () => {
  const empty = new SniTable<string>([]);
  assert.equal(empty.pick('a.test'), undefined);
  assert.equal(empty.pick(undefined), undefined);
});

test('normalizeServerName', () => {
  assert.equal(normalizeServerName('WWW.Example.NET.'), 'www.example.net');
  assert.equal(normalizeServerName('.'), '.');
  assert.equal(normalizeServerName(''), '');
});
