import { firstHeaderValue } from './header-name.ts';
import { connectionTokens, isHopByHop } from './hop-by-hop.ts';

/** What weir needs to know about a client's request head, read in one pass. */
export interface ClientRequestHead {
  /** The Host header as sent, undefined when absent. */
  host: string | undefined;
  /** Whether a body follows (Content-Length other than 0, or Transfer-Encoding). */
  hasBody: boolean;
  /** Content-Length as sent (llhttp has checked it); undefined when absent. */
  contentLength: number | undefined;
  /** Every X-Forwarded-For value, comma-joined in order ("" when none). */
  forwardedFor: string;
  /** The first X-Forwarded-Proto value, lower-case ("" when none). */
  forwardedProto: string;
  /** The request id header's first value as sent, when request ids are on. */
  requestId: string | undefined;
  /**
   * Headers to forward: hop-by-hop ones, Expect, the forwarding headers and
   * the request id header removed. appendForwardingHeaders() adds those back.
   */
  headers: string[];
}

export interface ForwardingFacts {
  /** The address weir appends to X-Forwarded-For: the peer (or the PROXY protocol source). */
  hop: string;
  /** Whether that peer is a trusted proxy, whose X-Forwarded-* headers are kept. */
  trusted: boolean;
  /** "http" or "https": how the client reached weir. */
  scheme: string;
  /** The request id header (as written) and its value; undefined when request ids are off. */
  requestId?: { header: string; value: string } | undefined;
}

const VIA = '1.1 weir';

/**
 * Reads the client's head: what weir decides from, and the headers to
 * forward without hop-by-hop ones (and any the Connection header names),
 * without Expect (weir answers 100-continue itself), and without the
 * forwarding and request id headers, which appendForwardingHeaders() writes.
 * `requestIdHeader` is the lower-case request id header name, if any;
 * `receivedVersion` is the protocol version the request came in, for Via
 * (RFC 9110 section 7.6.3): "1.1", or "2" for an HTTP/2 stream.
 */
export function readClientRequestHead(raw: readonly string[], requestIdHeader: string | undefined, receivedVersion = '1.1'): ClientRequestHead {
  let host: string | undefined;
  let hasBody = false;
  let contentLength: number | undefined;
  let forwardedFor = '';
  let forwardedProto = '';
  let requestId: string | undefined;
  let via = '';
  const connectionValues: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (name === 'host') host ??= value;
    else if (name === 'connection') connectionValues.push(value);
    else if (name === 'transfer-encoding') hasBody = true;
    else if (name === 'content-length') {
      contentLength = Number(value.trim());
      hasBody ||= contentLength !== 0;
    } else if (name === 'x-forwarded-for') forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
    else if (name === 'x-forwarded-proto') forwardedProto ||= value.split(',')[0]!.trim().toLowerCase();
    else if (name === requestIdHeader) requestId ??= value;
    else if (name === 'via') via = via ? `${via}, ${value}` : value;
  }
  const listed = connectionTokens(connectionValues);

  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || listed?.has(lower)) continue;
    if (lower === 'expect' || lower === 'x-forwarded-for' || lower === 'x-forwarded-proto' || lower === 'x-forwarded-host' || lower === 'via' || lower === requestIdHeader) continue;
    headers.push(name, raw[i + 1]!);
  }
  const hop = receivedVersion === '1.1' ? VIA : `${receivedVersion} weir`;
  headers.push('via', via ? `${via}, ${hop}` : hop);
  return { host, hasBody, contentLength, forwardedFor, forwardedProto, requestId, headers };
}

/**
 * Adds X-Forwarded-For, -Proto and -Host and the request id. (An Upgrade
 * request's Upgrade header goes to the upstream client on its own.) From a trusted proxy the client's X-Forwarded-For
 * is extended and its -Proto and -Host kept; from anyone else they were
 * spoofable, so they are replaced by what weir itself saw.
 */
export function appendForwardingHeaders(head: ClientRequestHead, raw: readonly string[], facts: ForwardingFacts): void {
  const { headers } = head;
  headers.push('x-forwarded-for', facts.trusted && head.forwardedFor ? `${head.forwardedFor}, ${facts.hop}` : facts.hop);
  headers.push('x-forwarded-proto', facts.scheme);
  const forwardedHost = facts.trusted ? firstHeaderValue(raw, 'x-forwarded-host') : undefined;
  const host = forwardedHost ?? head.host;
  if (host !== undefined) headers.push('x-forwarded-host', host);
  if (facts.requestId) headers.push(facts.requestId.header, facts.requestId.value);
}

/**
 * The backend's response headers as the client receives them: hop-by-hop
 * ones removed and Via added, from the name/value strings the upstream
 * client hands over.
 */
export function responseHeadersForClient(raw: readonly string[]): string[] {
  const headers: string[] = [];
  let via = '';
  let connectionValues: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && name.toLowerCase() === 'connection' && !namesOnlyHopByHop(raw[i + 1]!)) (connectionValues ??= []).push(raw[i + 1]!);
  }
  const listed = connectionValues && connectionTokens(connectionValues);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || listed?.has(lower)) continue;
    const value = raw[i + 1]!;
    if (lower === 'via') {
      via = via ? `${via}, ${value}` : value;
      continue;
    }
    headers.push(name, value);
  }
  headers.push('via', via ? `${via}, ${VIA}` : VIA);
  return headers;
}

/** "keep-alive" or "close", what nearly every backend sends: it names no header beyond the hop-by-hop ones. */
function namesOnlyHopByHop(connection: string): boolean {
  const lower = connection.length <= 10 ? connection.toLowerCase() : '';
  return lower === 'keep-alive' || lower === 'close';
}
