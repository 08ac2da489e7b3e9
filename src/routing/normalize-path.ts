// The path weir matches routes and firewall rules against. Clients (and
// attackers) can spell one resource many ways: "/%6Dessages", "//messages",
// "/x/../messages". Matching on a single canonical spelling means a rule
// written once covers all of them.

const SLASH = 47; // "/"

/**
 * Canonical form of a request path (no query string) for route matching and
 * firewall checks:
 * - percent-escapes of unreserved characters (ALPHA, DIGIT, "-", ".", "_", "~")
 *   are decoded, the hex of every other escape is upper-cased ("%2f" → "%2F");
 *   nothing is decoded twice ("%252e" stays "%252e");
 * - repeated slashes collapse to one;
 * - "." and ".." segments are removed (RFC 3986 5.2.4), also when they were
 *   percent-encoded, and ".." never climbs above the root;
 * - a trailing slash is kept; the result always starts with "/".
 * A path that needs none of this comes back as the very same string.
 */
export function normalizePath(rawPath: string): string {
  if (
    rawPath.charCodeAt(0) === SLASH &&
    !rawPath.includes('%') &&
    !rawPath.includes('//') &&
    !rawPath.includes('/.')
  ) {
    return rawPath;
  }
  return removeDotSegments(decodeUnreserved(rawPath));
}

function decodeUnreserved(path: string): string {
  if (!path.includes('%')) return path;
  let out = '';
  let copiedUpTo = 0;
  for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', i + 1)) {
    const high = hexValue(path.charCodeAt(i + 1));
    const low = hexValue(path.charCodeAt(i + 2));
    // A "%" without two hex digits is left as it is: it names no character,
    // so there is nothing canonical to turn it into.
    if (high < 0 || low < 0) continue;
    const code = high * 16 + low;
    out += path.slice(copiedUpTo, i);
    out += isUnreserved(code)
      ? String.fromCharCode(code)
      : '%' + path.slice(i + 1, i + 3).toUpperCase();
    copiedUpTo = i + 3;
    i += 2;
  }
  return out + path.slice(copiedUpTo);
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 65 && code <= 70) return code - 55; // A-F
  if (code >= 97 && code <= 102) return code - 87; // a-f
  return -1;
}

function isUnreserved(code: number): boolean {
  return (
    (code >= 65 && code <= 90) || // A-Z
    (code >= 97 && code <= 122) || // a-z
    (code >= 48 && code <= 57) || // 0-9
    code === 45 || // -
    code === 46 || // .
    code === 95 || // _
    code === 126 // ~
  );
}

export function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const kept: string[] = [];
  let trailingSlash = false;
  // segments[0] is what precedes the first "/" ("" for an absolute path); a
  // relative path is treated as if it started with "/".
  for (let i = path.charCodeAt(0) === SLASH ? 1 : 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    // An empty, "." or ".." segment at the end still leaves the path pointing
    // at a directory ("/a/b/.." is "/a/"), so it ends with a slash.
    if (segment === '' || segment === '.') {
      trailingSlash = true;
    } else if (segment === '..') {
      kept.pop();
      trailingSlash = true;
    } else {
      kept.push(segment);
      trailingSlash = false;
    }
  }
  if (kept.length === 0) return '/';
  const joined = '/' + kept.join('/');
  return trailingSlash ? joined + '/' : joined;
}
