import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepOrMakeRequestId } from './request-id.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('a well-formed id from the client is kept', () => {
  for (const id of ['abc-123', '01HZX3K5J8Q2W4', 'trace:span/1', 'dGVzdA==', 'f47ac10b-58cc-4372-a567-0e02b2c3d479']) {
    assert.equal(keepOrMakeRequestId(id), id);
  }
});

test('a missing or malformed id is replaced by a fresh UUID', () => {
  for (const sent of [undefined, '', 'a b', 'x'.repeat(201), '<script>', 'a,b', 'ü']) {
    assert.match(keepOrMakeRequestId(sent), UUID, String(sent));
  }
  assert.notEqual(keepOrMakeRequestId(undefined), keepOrMakeRequestId(undefined));
});
