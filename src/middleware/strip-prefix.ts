// Lets a backend that serves "/" be mounted under a prefix: the route for
// "/mango" forwards "/mango/x" as "/x".

import type { RequestStep } from './types.ts';
import { normalizePath } from '../routing/normalize-path.ts';

/**
 * Removes `prefix` from the start of req.path on a segment boundary, leaving
 * at least "/": with "/mango", "/mango" → "/", "/mango/x" → "/x",
 * "/mangox" unchanged. Undefined when there is nothing to strip.
 *
 * req.path keeps the client's spelling while the route was matched on the
 * normalized path, so "/%6Dango/x" or "//mango/x" can reach a "/mango" route
 * without literally starting with "/mango". Such a path is stripped in its
 * normalized form rather than forwarded with the prefix still on it. A path
 * that has the prefix in neither form is left alone.
 */
export function compileStripPrefix(prefix: string): RequestStep | undefined {
  // "/mango/" and "/mango" strip the same segment; normalizing here also
  // makes the prefix comparable with a normalized request path.
  let segment = normalizePath(prefix);
  while (segment.endsWith('/')) segment = segment.slice(0, -1);
  if (segment === '') return undefined;

  return (req) => {
    const stripped = stripSegment(req.path, segment);
    if (stripped !== undefined) {
      req.path = stripped;
      return;
    }
    const normalized = normalizePath(req.path);
    if (normalized === req.path) return;
    const strippedNormalized = stripSegment(normalized, segment);
    if (strippedNormalized !== undefined) req.path = strippedNormalized;
  };
}

function stripSegment(path: string, segment: string): string | undefined {
  if (!path.startsWith(segment)) return undefined;
  if (path.length === segment.length) return '/';
  if (path.charCodeAt(segment.length) !== 47 /* "/" */) return undefined;
  return path.slice(segment.length);
}
