// A request as bytes on a backend connection: the head written as one
// latin1 string (one write, one packet for a request without a body; Node
// encodes it straight into the socket, with no Buffer in between), then the
// body framed as the client's was: with its Content-Length as sent, or
// chunked when the client streamed it without one.

/** How the request body goes on the wire. */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

export interface RequestToWrite {
  method: string;
  /** Path and query, as on the request line. */
  target: string;
  /** name, value, name, value… without hop-by-hop headers. */
  headers: readonly string[];
  hasBody: boolean;
  /** The Upgrade header's value for an Upgrade request. */
  upgrade: string | undefined;
}

/** A request weir cannot put on the wire as it is; the client's doing, never the backend's. */
export class UnwritableRequest extends Error {
  override name = 'UnwritableRequest';
  readonly code = 'WEIR_UNWRITABLE_REQUEST';
}

// Methods whose requests carry a body by meaning: without one, a backend
// waits for a length unless told it is 0.
const EXPECTS_BODY = new Set(['POST', 'PUT', 'PATCH']);

// Token characters (RFC 9110 section 5.6.2) for methods and header names.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values must not end a line early: CR, LF and NUL split or smuggle.
const UNSAFE_VALUE = /[\r\n\0]/;
const UNSAFE_TARGET = /[\s\0]/;

/**
 * The request head, and how the body is framed. `defaultHost` is the
 * backend's host:port, sent when the client's request had no Host.
 * Throws UnwritableRequest for what cannot be written safely.
 */
export function requestHead(request: RequestToWrite, defaultHost: string): { head: string; framing: BodyFraming } {
  const { method, target, headers } = request;
  if (!TOKEN.test(method)) throw new UnwritableRequest(`invalid method ${JSON.stringify(method)}`);
  if (target.length === 0 || UNSAFE_TARGET.test(target)) throw new UnwritableRequest('invalid request target');
  let text = `${method} ${target} HTTP/1.1\r\n`;
  let hasHost = false;
  let contentLength: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!TOKEN.test(name)) throw new UnwritableRequest(`invalid header name ${JSON.stringify(name)}`);
    if (UNSAFE_VALUE.test(value)) throw new UnwritableRequest(`invalid value of header ${name}`);
    if (name.length === 4 && name.toLowerCase() === 'host') hasHost = true;
    else if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (contentLength !== undefined && contentLength !== value) throw new UnwritableRequest('two different Content-Length values');
      contentLength = value;
      continue;
    }
    text += `${name}: ${value}\r\n`;
  }
  if (!hasHost) text += `host: ${defaultHost}\r\n`;

  let framing: BodyFraming;
  if (contentLength !== undefined) {
    const length = Number(contentLength);
    if (!/^\d+$/.test(contentLength) || !Number.isSafeInteger(length)) throw new UnwritableRequest('invalid Content-Length');
    framing = length === 0 || !request.hasBody ? { kind: 'none' } : { kind: 'length', length };
    text += `content-length: ${length === 0 || !request.hasBody ? 0 : length}\r\n`;
  } else if (request.hasBody) {
    framing = { kind: 'chunked' };
    text += 'transfer-encoding: chunked\r\n';
  } else {
    framing = { kind: 'none' };
    if (EXPECTS_BODY.has(method)) text += 'content-length: 0\r\n';
  }
  if (request.upgrade !== undefined) {
    if (UNSAFE_VALUE.test(request.upgrade)) throw new UnwritableRequest('invalid Upgrade value');
    text += `connection: upgrade\r\nupgrade: ${request.upgrade}\r\n`;
  }
  text += '\r\n';
  return { head: text, framing };
}

const CRLF = Buffer.from('\r\n', 'latin1');
export const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** The size line of one chunk of a chunked body. */
export function chunkSizeLine(size: number): Buffer {
  return Buffer.from(`${size.toString(16)}\r\n`, 'latin1');
}

export { CRLF as CHUNK_END };
