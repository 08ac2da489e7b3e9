// Removes, sets and adds headers, on the forwarded request (request_headers)
// or on the answer to the client (response_headers). Works on the flat
// [name, value, ...] list so duplicate headers and the original spelling of
// names survive untouched.

import type { HeaderRules } from '../config/types.ts';
import { compileTemplate, isConstantTemplate, type Template } from './template.ts';
import type { RequestContext } from './types.ts';

/** Edits a flat header list in place. */
export type HeaderEdit = (headers: string[], ctx: RequestContext) => void;

/**
 * Removes every header whose name is listed in `remove` or `set` (any case),
 * then appends the `set` pairs, then the `add` pairs. So `set` replaces and
 * `add` appends whatever is there. Values are templates expanded per request.
 * Undefined when there are no rules.
 */
export function compileHeaderRules(rules: HeaderRules): HeaderEdit | undefined {
  if (rules.add.length === 0 && rules.set.length === 0 && rules.remove.length === 0) return undefined;
  const removed = [...rules.remove, ...rules.set.map(([name]) => name)];
  const removeNames = new Set(removed.map((name) => name.toLowerCase()));
  // Header names are mostly of distinct lengths, so checking the length first
  // skips lower-casing nearly every header that cannot be on the list.
  const removeLengths = new Set(removed.map((name) => name.length));
  const appended = [...rules.set, ...rules.add].map(([name, value]) => ({ name, value: compileValue(value) }));

  return (headers, ctx) => {
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
    for (const { name, value } of appended) headers.push(name, typeof value === 'string' ? value : value(ctx));
  };
}

function compileValue(text: string): string | Template {
  return isConstantTemplate(text) ? text : compileTemplate(text);
}
