// Durations in the config are written with a unit ("500ms", "5s", "1.5m") so
// that nobody has to guess whether a bare 5 meant seconds or milliseconds.

import { fail, ok, type Result } from './result.ts';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** For the JSON Schema, so editors flag a bad duration while it is typed. */
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$';

// Node's timers cannot wait longer than this: a longer delay is silently
// replaced by 1ms, which would turn "a very long timeout" into "none at all".
const LONGEST_MS = 2 ** 31 - 1;

/** Milliseconds for "500ms", "5s", "1.5s", "1m", "2h". */
export function parseDuration(text: string): Result<number> {
  const match = new RegExp(DURATION_PATTERN).exec(text);
  if (!match) {
    if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return fail(missingUnit(text));
    return fail(`"${text}" is not a duration; write a number and a unit (ms, s, m or h), like "500ms" or "5s"`);
  }
  const unit = match[2] as keyof typeof UNIT_MS;
  const ms = Math.round(Number.parseFloat(text) * UNIT_MS[unit]);
  if (ms < 1) return fail(`"${text}" is too short; a duration must be at least 1ms`);
  if (ms > LONGEST_MS) return fail(`"${text}" is too long; the longest duration is 596h`);
  return ok(ms);
}

/** The message for a bare number where a duration was expected. */
export function missingUnit(number: string | number): string {
  return `${number} needs a unit: write "${number}s" for seconds or "${number}ms" for milliseconds (units: ms, s, m, h)`;
}

/** "5s" or "1500ms", for messages. */
export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
