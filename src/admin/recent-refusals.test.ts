import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentRefusals } from './recent-refusals.ts';

const refusal = (n: number): { at: number; status: number; reason: string; client: string; url: string } => ({ at: n, status: 403, reason: `rule ${n}`, client: '192.0.2.1', url: `/x/${n}` });

test('keeps the last refusals, oldest first, newest last, within its capacity', () => {
  const refusals = new RecentRefusals(3);
  assert.deepEqual(refusals.list(), []);
  refusals.add(refusal(1));
  refusals.add(refusal(2));
  assert.deepEqual(refusals.list().map((entry) => entry.at), [1, 2]);
  for (let n = 3; n <= 7; n++) refusals.add(refusal(n));
  assert.deepEqual(refusals.list().map((entry) => entry.at), [5, 6, 7]);
});

test('a long URL is cut', () => {
  const refusals = new RecentRefusals();
  refusals.add({ ...refusal(1), url: `/${'a'.repeat(10_000)}` });
  assert.equal(refusals.list()[0]!.url.length, 513);
});
