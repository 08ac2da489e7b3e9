// Regex rewrites, as in nginx's `rewrite ^/old/(.*) /new/$1`: the backend
// keeps an old layout while clients use a new one, or the other way round.

import type { RequestStep } from './types.ts';

/**
 * Replaces the first match of `pattern` in req.path with `to`, where $1, $2
 * ... are capture groups and $<name> named ones (JavaScript's replacement
 * syntax). A path the pattern does not match is left alone. The result
 * always starts with "/". The pattern is compiled once, here.
 */
export function compileRewriteRegex(rule: { pattern: string; to: string } | undefined): RequestStep | undefined {
  if (rule === undefined) return undefined;
  const pattern = new RegExp(rule.pattern);
  return (req) => {
    if (!pattern.test(req.path)) return;
    const path = req.path.replace(pattern, rule.to);
    req.path = path.charCodeAt(0) === 47 /* "/" */ ? path : '/' + path;
  };
}
