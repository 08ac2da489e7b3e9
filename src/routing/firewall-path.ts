// The path as the firewall's path rules see it. Route matching keeps the
// client's case and most of its encoding (see normalize-path.ts), but a deny
// rule must also hold against backends that read a path more loosely than
// weir: that decode twice, ignore case, take "\" for "/" or drop ";params"
// (Tomcat, IIS, some frameworks). So the firewall compares against the
// loosest reading, and a rule for "/admin" refuses every spelling that some
// backend could take for /admin.

import { removeDotSegments } from './normalize-path.ts';

/**
 * The firewall's form of a raw request path (no query):
 * - percent-escapes decoded, again as long as escapes remain (at most 3
 *   rounds), each byte taken as one character;
 * - "\" read as "/";
 * - each segment cut at ";" (path parameters);
 * - lower-cased;
 * - repeated slashes collapsed, "." and ".." segments resolved.
 * Rules are brought into the same form, so "/Admin" as written and
 * "/%2561dmin;x" as sent meet as "/admin".
 */
export function firewallPath(rawPath: string): string {
  let path = rawPath;
  for (let round = 0; round < 3 && path.includes('%'); round++) {
    const decoded = decodeEscapes(path);
    if (decoded === path) break;
    path = decoded;
  }
  if (path.includes('\\')) path = path.replaceAll('\\', '/');
  if (path.includes(';')) path = path.replace(/;[^/]*/g, '');
  path = path.toLowerCase();
  if (path.charCodeAt(0) !== 47 /* "/" */ || path.includes('//') || path.includes('/.')) path = removeDotSegments(path);
  return path;
}

function decodeEscapes(path: string): string {
  return path.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** A rule's path in the same form; non-ASCII text is taken as its UTF-8 bytes, as a request would carry it. */
export function firewallRulePath(rule: string): string {
  return firewallPath(encodeURI(rule).replaceAll('%25', '%'));
}
