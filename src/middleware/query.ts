// Adds and removes query parameters on the forwarded request, e.g. dropping
// tracking parameters or adding a fixed API key. Parameters the rules do not
// touch are forwarded byte for byte: re-encoding them could change what the
// backend sees (signatures over the query, unusual encodings).

import type { QueryRules } from '../config/types.ts';
import { compileTemplate, isConstantTemplate } from './template.ts';
import type { RequestContext, RequestStep } from './types.ts';

const AMPERSAND = 38;
const EQUALS = 61;

/**
 * Edits req.query (raw, without "?"). First every parameter whose decoded name
 * is listed in `remove` or `set` is dropped, then each `set` and `add` pair is
 * appended as name=value with both parts encoded by encodeURIComponent.
 * Values may use variables. Untouched parameters keep their exact raw text
 * and order. Undefined when there are no rules.
 */
export function compileQuery(rules: QueryRules): RequestStep | undefined {
  if (rules.add.length === 0 && rules.set.length === 0 && rules.remove.length === 0) return undefined;
  const removed = [...rules.remove, ...rules.set.map(([name]) => name)];
  const removeNames = removed.length > 0 ? new Set(removed) : undefined;
  const appended = [...rules.set, ...rules.add];
  const addedParameters = appended.every(([, value]) => isConstantTemplate(value))
    ? constant(appended.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&'))
    : expanded(appended);

  return (req, ctx) => {
    let query = req.query;
    if (removeNames !== undefined && query !== '') query = withoutParameters(query, removeNames);
    const added = addedParameters(ctx);
    if (added !== '') {
      if (query === '') query = added;
      else if (query.charCodeAt(query.length - 1) === AMPERSAND) query += added;
      else query += '&' + added;
    }
    req.query = query;
  };
}

function constant(text: string): (ctx: RequestContext) => string {
  return () => text;
}

function expanded(pairs: Array<[string, string]>): (ctx: RequestContext) => string {
  const compiled = pairs.map(([name, value]) => ({ name: `${encodeURIComponent(name)}=`, value: compileTemplate(value) }));
  return (ctx) => compiled.map(({ name, value }) => name + encodeURIComponent(value(ctx))).join('&');
}

/** The query without the listed parameters; the same string when none is present. */
function withoutParameters(query: string, names: Set<string>): string {
  // Built only once a parameter is actually removed; until then `kept` stays
  // undefined and the input is returned as it is.
  let kept: string | undefined;
  let start = 0;
  while (start <= query.length) {
    let end = start;
    let nameEnd = -1;
    for (; end < query.length; end++) {
      const code = query.charCodeAt(end);
      if (code === AMPERSAND) break;
      if (code === EQUALS && nameEnd === -1) nameEnd = end;
    }
    if (nameEnd === -1) nameEnd = end;
    const remove = names.has(decodeName(query.slice(start, nameEnd)));
    if (remove && kept === undefined) {
      // Everything before this parameter stays as written, minus its "&".
      kept = query.slice(0, Math.max(0, start - 1));
    } else if (!remove && kept !== undefined && end > start) {
      kept = kept === '' ? query.slice(start, end) : kept + '&' + query.slice(start, end);
    }
    start = end + 1;
  }
  return kept ?? query;
}

/** A parameter name as form decoding reads it: "+" is a space, escapes decoded. */
function decodeName(raw: string): string {
  const spaced = raw.includes('+') ? raw.replaceAll('+', ' ') : raw;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    // A malformed escape cannot be decoded; the name is then what was written.
    return spaced;
  }
}
