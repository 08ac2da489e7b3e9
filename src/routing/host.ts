// The host a request is routed by. Host names are case-insensitive and the
// port and a fully-qualified trailing dot do not change which site is meant,
// so all of "WWW.Mango.com:8080", "www.mango.com." and "www.mango.com" must
// reach the same route.

/**
 * Lower-case host from a Host header value, without the port and without a
 * trailing dot: "WWW.Mango.com:8080" → "www.mango.com", "[::1]:80" → "[::1]".
 * "" when the header is absent or empty.
 */
export function hostFromHeader(value: string | undefined): string {
  if (!value) return '';
  let end: number;
  if (value.charCodeAt(0) === 91 /* "[" */) {
    // An IPv6 literal has colons of its own; the port can only follow "]".
    const close = value.indexOf(']');
    end = close === -1 ? value.length : close + 1;
  } else {
    const colon = value.indexOf(':');
    end = colon === -1 ? value.length : colon;
  }
  if (end > 1 && value.charCodeAt(end - 1) === 46 /* "." */) end--;
  const host = end === value.length ? value : value.slice(0, end);
  return host.toLowerCase();
}
