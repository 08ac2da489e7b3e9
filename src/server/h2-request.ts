// An HTTP/2 request's head in the form every phase reads an HTTP/1.1 one:
// the method, target and authority come from pseudo-headers (RFC 9113
// section 8.3.1), which are not header fields and are not forwarded; a Host
// field stands in for :authority when the client sent none, since routing,
// X-Forwarded-Host and an HTTP/1.1 backend all want one; and the cookie
// fields HTTP/2 lets a client split (section 8.2.3, for better header
// compression) are joined back into one with "; ", as an HTTP/1.1 backend
// expects.

export interface H2RequestHead {
  method: string;
  /** :path; for CONNECT, which has none, the :authority (authority-form). */
  url: string;
  authority: string | undefined;
  /** The regular fields, flat [name, value, ...]: no pseudo-headers, one cookie field, a Host. */
  rawHeaders: string[];
}

/** Reads the flat [name, value, ...] list Node gives with each stream (names lower-case, as HTTP/2 requires). */
export function readH2RequestHead(raw: readonly string[]): H2RequestHead {
  let method = '';
  let path: string | undefined;
  let authority: string | undefined;
  let hasHost = false;
  let cookies: string[] | undefined;
  let cookieAt = -1;
  const fields: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === ':authority') authority = value;
      continue;
    }
    if (name === 'cookie') {
      if (cookies === undefined) {
        cookies = [];
        cookieAt = fields.length;
        fields.push(name, '');
      }
      cookies.push(value);
      continue;
    }
    if (name === 'host') hasHost = true;
    fields.push(name, value);
  }
  if (cookies !== undefined) fields[cookieAt + 1] = cookies.join('; ');
  const rawHeaders = !hasHost && authority !== undefined ? ['host', authority, ...fields] : fields;
  return { method, url: path ?? authority ?? '', authority, rawHeaders };
}
