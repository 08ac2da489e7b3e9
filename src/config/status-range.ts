// Entries of health_check.expected_statuses: one status (200, or "200" when
// quoted) or an inclusive range "200-299".

import { fail, ok, type Result } from './result.ts';

/** For the JSON Schema: the string spellings (a number is also accepted). */
export const STATUS_RANGE_PATTERN = '^[1-5][0-9]{2}(-[1-5][0-9]{2})?$';

export function parseStatusRange(written: number | string): Result<[number, number]> {
  const text = String(written);
  const match = /^([0-9]+)(?:-([0-9]+))?$/.exec(text);
  if (!match) return fail(`"${text}" is not a status or a range; write 200 or "200-299"`);
  const low = Number(match[1]);
  const high = match[2] === undefined ? low : Number(match[2]);
  for (const status of [low, high]) {
    if (status < 100 || status > 599) return fail(`${status} is not an HTTP status; use 100 to 599`);
  }
  if (low > high) return fail(`"${text}" is backwards; write the lower status first`);
  return ok([low, high]);
}
