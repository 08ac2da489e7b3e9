// The request target (RFC 9112 section 3.2): what the client asked for, and
// what weir puts on the request line toward a backend.

/** Path and query of an origin-form ("/a?b") or absolute-form ("http://h/a?b") target; undefined for anything else. */
export function splitTarget(url: string): { path: string; query: string } | undefined {
  let rest = url;
  if (!url.startsWith('/')) {
    // Absolute-form ("http://host/path"), which clients send to proxies.
    const match = /^https?:\/\/[^/?#]*/i.exec(url);
    if (!match) return undefined;
    rest = url.slice(match[0].length) || '/';
    if (!rest.startsWith('/')) rest = `/${rest}`;
  }
  const q = rest.indexOf('?');
  return q === -1 ? { path: rest, query: '' } : { path: rest.slice(0, q), query: rest.slice(q + 1) };
}

/** The path and query as sent on the request line to the backend. */
export function upstreamTarget(upstream: { readonly path: string; readonly query: string }): string {
  return upstream.query ? `${upstream.path}?${upstream.query}` : upstream.path;
}
