// Plain text replacements on the forwarded path, for backends that expect a
// different layout than the one clients use ("/v1/" → "/api/v1/").

import type { RewriteRules } from '../config/types.ts';
import type { RequestStep } from './types.ts';

/**
 * Applies each [from, to] pair to req.path in order, replacing every
 * occurrence of `from` literally (no regex, and "$" in `to` has no special
 * meaning). Undefined when there are no pairs. If the replacements leave a
 * path that does not start with "/", one is put in front, since a request
 * target without it is not a valid origin-form path.
 */
export function compileRewrite(rules: Pick<RewriteRules, 'replace'>): RequestStep | undefined {
  if (rules.replace.length === 0) return undefined;
  const replacements = rules.replace.map(([from, to]) => {
    // An empty "from" would insert `to` between every character; that is
    // never what a config meant, so refuse it at startup.
    if (from === '') throw new Error('rewrite: a replacement has an empty "from" text');
    // A replacer function, unlike a replacement string, inserts `to` verbatim.
    const replacer = (): string => to;
    return { from, replacer };
  });

  return (req) => {
    let path = req.path;
    for (const { from, replacer } of replacements) {
      if (path.includes(from)) path = path.replaceAll(from, replacer);
    }
    req.path = path.charCodeAt(0) === 47 /* "/" */ ? path : '/' + path;
  };
}
