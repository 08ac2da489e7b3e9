// Prefix rules (route paths, path_reject) are about whole path segments: a
// rule for "/api" is about the API, not about "/apix". Shared so the router
// and the firewall can never disagree about what a prefix covers.

/**
 * Compiles a prefix into a test on segment boundaries:
 * - "/api" matches "/api", "/api/" and "/api/x", not "/apix";
 * - "/api/" (written with a trailing slash) matches "/api/" and "/api/x", not "/api";
 * - "/" matches every path.
 */
export function compilePathPrefix(prefix: string): (path: string) => boolean {
  if (prefix === '' || prefix === '/') return () => true;
  if (prefix.endsWith('/')) return (path) => path.startsWith(prefix);
  const length = prefix.length;
  return (path) =>
    path.startsWith(prefix) && (path.length === length || path.charCodeAt(length) === 47 /* "/" */);
}
