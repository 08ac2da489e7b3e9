// The other half of strip_prefix: a backend that serves under "/api" while
// clients ask for "/".

import type { RequestStep } from './types.ts';

/** Puts `prefix` in front of req.path without doubling the slash between them. Undefined for "". */
export function compileAddPrefix(prefix: string): RequestStep | undefined {
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (trimmed === '') return undefined;
  return (req) => {
    req.path = trimmed + req.path;
  };
}
