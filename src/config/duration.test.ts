import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from './duration.ts';

test('durations in every unit become milliseconds', () => {
  assert.deepEqual(parseDuration('500ms'), { ok: true, value: 500 });
  assert.deepEqual(parseDuration('5s'), { ok: true, value: 5000 });
  assert.deepEqual(parseDuration('1.5s'), { ok: true, value: 1500 });
  assert.deepEqual(parseDuration('1m'), { ok: true, value: 60_000 });
  assert.deepEqual(parseDuration('2h'), { ok: true, value: 7_200_000 });
});

test('a bare number is refused with a hint to add a unit', () => {
  assert.deepEqual(parseDuration('5'), {
    ok: false,
    message: '5 needs a unit: write "5s" for seconds or "5ms" for milliseconds (units: ms, s, m, h)',
  });
});

test('other spellings are refused', () => {
  const notDuration = (text: string) => ({
    ok: false,
    message: `"${text}" is not a duration; write a number and a unit (ms, s, m or h), like "500ms" or "5s"`,
  });
  for (const text of ['5 s', '5sec', '-1s', 's', '', '1d', '.5s', '1e3ms']) {
    assert.deepEqual(parseDuration(text), notDuration(text), text);
  }
});

test('durations must be at least 1ms and fit a timer', () => {
  assert.deepEqual(parseDuration('0s'), { ok: false, message: '"0s" is too short; a duration must be at least 1ms' });
  assert.deepEqual(parseDuration('0.4ms'), { ok: false, message: '"0.4ms" is too short; a duration must be at least 1ms' });
  assert.deepEqual(parseDuration('596h'), { ok: true, value: 2_145_600_000 });
  assert.deepEqual(parseDuration('597h'), { ok: false, message: '"597h" is too long; the longest duration is 596h' });
});

test('formatDuration writes whole seconds as seconds', () => {
  assert.equal(formatDuration(5000), '5s');
  assert.equal(formatDuration(1500), '1500ms');
});
