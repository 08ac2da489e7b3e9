// Adds and removes headers on the forwarded request. Works on the flat
// [name, value, ...] list so duplicate headers and the client's spelling of
// names survive untouched.

import type { HeaderRules } from '../config/types.ts';
import type { RequestStep } from './types.ts';

/**
 * Removes every header whose lower-cased name is listed in `remove`, then
 * appends each `add` pair. Removal comes first, so a header can be replaced
 * by removing and adding it; an add on its own replaces nothing, it appends.
 * Undefined when there are no rules.
 */
export function compileRequestHeaders(rules: HeaderRules): RequestStep | undefined {
  if (rules.add.length === 0 && rules.remove.length === 0) return undefined;
  const removeNames = new Set(rules.remove.map((name) => name.toLowerCase()));
  // Header names are mostly of distinct lengths, so checking the length first
  // skips lower-casing nearly every header that cannot be on the list.
  const removeLengths = new Set(rules.remove.map((name) => name.length));
  const added = rules.add.flat();

  return (req) => {
    const headers = req.headers;
    if (removeNames.size > 0) {
      // Compacts in place rather than building a new array.
      let write = 0;
      for (let read = 0; read + 1 < headers.length; read += 2) {
        const name = headers[read] as string;
        if (removeLengths.has(name.length) && removeNames.has(name.toLowerCase())) continue;
        headers[write] = name;
        headers[write + 1] = headers[read + 1] as string;
        write += 2;
      }
      headers.length = write;
    }
    for (const item of added) headers.push(item);
  };
}
