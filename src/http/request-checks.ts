// Checks on a client's request head that run before weir routes it: the
// few ways a head that Node's parser accepted can still be malformed, each
// refused the way the RFCs (and nginx) refuse it. This runs for every
// request, so the passing path compiles nothing and allocates nothing: the
// regexes are compiled here once, and the refusals are built once.

import { isIPv6 } from 'node:net';
import { equalsLowercase } from './header-name.ts';

/** What the checks read from a request head, as Node's http server hands it over. */
export interface RequestHeadFacts {
  /** As Node's http server gives it (upper-case). */
  method: string;
  /** The request target as sent. */
  url: string;
  httpVersionMajor: number;
  httpVersionMinor: number;
  /** Flat [name, value, ...] as Node gives them (values decoded as latin1: a byte >= 0x80 shows as a char >= \u0080). */
  rawHeaders: readonly string[];
  /**
   * The request came as an HTTP/2 stream. (An HTTP/1 request line that
   * claims "HTTP/2.0" is still HTTP/1, and refused with 505.)
   */
  http2?: boolean | undefined;
  /** HTTP/2's :authority pseudo-header, when sent; rawHeaders then hold a Host made from it if the client sent none. */
  authority?: string | undefined;
}

/** Why a head is refused: the status to answer with and a short reason for one log line. */
export interface HeadProblem {
  status: 400 | 501 | 505;
  reason: string;
}

function refusal(status: 400 | 501 | 505, reason: string): HeadProblem {
  return Object.freeze({ status, reason });
}

const TWO_HOSTS = refusal(400, 'two Host headers');
const INVALID_HOST_HEADER = refusal(400, 'invalid Host header');
const ENCODED_NUL = refusal(400, 'encoded NUL (%00) in path');
const INVALID_TARGET = refusal(400, 'invalid request target');
const ASTERISK_WITHOUT_OPTIONS = refusal(400, "'*' target on a non-OPTIONS request");
const INVALID_TARGET_HOST = refusal(400, 'invalid host in absolute-form target');
// RFC 9110 section 9.1: a method the server does not implement is answered
// 501. weir is no forward proxy, and it does not offer extended CONNECT
// (RFC 8441, WebSocket over HTTP/2): WebSocket clients use HTTP/1.1.
const CONNECT_NOT_SUPPORTED = refusal(501, 'CONNECT is not supported (weir is not a forward proxy; WebSocket over HTTP/2 is not offered)');
const NO_AUTHORITY = refusal(400, 'HTTP/2 request with neither :authority nor Host');
const AUTHORITY_MISMATCH = refusal(400, 'Host header differs from :authority');
const H2_INVALID_PATH = refusal(400, 'invalid :path');

// RFC 3986 section 3.2.2: a reg-name is unreserved characters, sub-delims
// and percent-encodings. An IPv4 address is spelled with a subset of those
// characters, so this one pattern covers both. RFC 3986 section 3.2.3: a
// port is digits, possibly none ("example.com:" is valid). The host must not
// be empty when a port follows: ":80" names no host (nginx refuses it too).
const REG_NAME_AND_PORT = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+(?::[0-9]*)?$/;
// RFC 3986 section 3.2.2: an IP-literal is an IPv6 address in brackets,
// then the optional port. The characters are checked here and the address
// itself by isIPv6(). IPvFuture ("[v1.x]") and zone ids ("%25eth0", RFC
// 6874) are refused: no client needs them in a Host.
const IP_LITERAL_AND_PORT = /^\[[0-9A-Fa-f:.]+\](?::[0-9]*)?$/;

/** Whether `value` is `host [ ":" port ]` with a non-empty host (RFC 3986 section 3.2.2). */
function isValidAuthorityHost(value: string): boolean {
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    return IP_LITERAL_AND_PORT.test(value) && isIPv6(value.slice(1, value.indexOf(']')));
  }
  return REG_NAME_AND_PORT.test(value);
}

/**
 * RFC 9112 section 3.2: a server MUST answer 400 to a request with more
 * than one Host field line or an invalid Host value. An empty value is
 * valid (RFC 9110 section 7.2: sent when the target has no authority);
 * routing then sees no host. A missing Host is Node's to refuse, not ours.
 */
function checkHostHeader(rawHeaders: readonly string[]): HeadProblem | undefined {
  let host: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (!equalsLowercase(rawHeaders[i]!, 'host')) continue;
    if (host !== undefined) return TWO_HOSTS;
    host = rawHeaders[i + 1]!;
  }
  if (host === undefined || host === '' || isValidAuthorityHost(host)) return undefined;
  return INVALID_HOST_HEADER;
}

/**
 * A percent-encoded NUL in the path (from `pathStart` to the first "?")
 * would become a NUL byte once decoded, which no file or route name
 * contains and which C backends take as the end of the string; nginx
 * refuses it with 400. In the query it is data, and nginx passes it on.
 */
function hasEncodedNulInPath(url: string, pathStart: number): boolean {
  const nul = url.indexOf('%00', pathStart);
  if (nul === -1) return false;
  const query = url.indexOf('?', pathStart);
  return query === -1 || nul < query;
}

// RFC 9112 section 3.2.2: absolute-form is an absolute URI; weir serves only
// the http and https schemes (RFC 9110 section 4.2), in any case.
const ABSOLUTE_FORM_PREFIX = /^https?:\/\//i;

/** Where the authority of an absolute-form target that starts at `from` ends: the first "/", "?" or "#", or the end. */
function authorityEnd(url: string, from: number): number {
  for (let i = from; i < url.length; i++) {
    const code = url.charCodeAt(i);
    if (code === 0x2f /* / */ || code === 0x3f /* ? */ || code === 0x23 /* # */) return i;
  }
  return url.length;
}

/**
 * RFC 9112 section 3.2: the request target is origin-form ("/path?query"),
 * absolute-form ("http://host/path"), authority-form (CONNECT only, which
 * never reaches weir) or asterisk-form ("*", OPTIONS only). Anything else
 * is a 400. In absolute-form the authority must be a valid, non-empty host
 * (RFC 9110 section 4.2.1: an http URI with an empty host MUST be rejected;
 * section 4.2.4: userinfo is refused, which the host pattern does since "@"
 * is not in it).
 */
function checkTarget(method: string, url: string): HeadProblem | undefined {
  if (url.charCodeAt(0) === 0x2f /* / */) {
    return hasEncodedNulInPath(url, 0) ? ENCODED_NUL : undefined;
  }
  if (url === '*') return method === 'OPTIONS' ? undefined : ASTERISK_WITHOUT_OPTIONS;
  if (!ABSOLUTE_FORM_PREFIX.test(url)) return INVALID_TARGET;
  const hostStart = url.indexOf('//') + 2;
  const hostEnd = authorityEnd(url, hostStart);
  if (!isValidAuthorityHost(url.slice(hostStart, hostEnd))) return INVALID_TARGET_HOST;
  return hasEncodedNulInPath(url, hostEnd) ? ENCODED_NUL : undefined;
}

/**
 * Checks a client's request head before it is routed: undefined when it is
 * fine, else the status to answer with and why. The version is checked
 * first (a head from another protocol version is not worth reading
 * further), then Host, then the target.
 */
export function checkRequestHead(head: RequestHeadFacts): HeadProblem | undefined {
  // Node's HTTP/1 server never hands a CONNECT over; an HTTP/2 stream may.
  if (head.method === 'CONNECT') return CONNECT_NOT_SUPPORTED;
  if (head.http2 === true) return checkHttp2Head(head);
  // RFC 9110 section 6.2 and 15.6.6: weir's HTTP/1 listener speaks 1.x only
  // (any minor: RFC 9110 section 2.5); another major version, such as
  // "HTTP/2.0" sent on an HTTP/1.1 port, is answered 505 as nginx does.
  if (head.httpVersionMajor !== 1) {
    return refusal(505, `unsupported HTTP version ${head.httpVersionMajor}.${head.httpVersionMinor}`);
  }
  return checkHostHeader(head.rawHeaders) ?? checkTarget(head.method, head.url);
}

/**
 * An HTTP/2 request (RFC 9113 section 8.3.1): the authority is :authority,
 * or a Host field; a request with both whose values differ is malformed
 * (weir routes on one and the backend could read the other), one with
 * neither names no host. :path is origin-form, or "*" for OPTIONS; nghttp2
 * has checked that much already, this keeps the rule in one place.
 */
function checkHttp2Head(head: RequestHeadFacts): HeadProblem | undefined {
  const hostProblem = checkHostHeader(head.rawHeaders);
  if (hostProblem) return hostProblem;
  let host: string | undefined;
  const raw = head.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (equalsLowercase(raw[i]!, 'host')) {
      host = raw[i + 1]!;
      break;
    }
  }
  if (host === undefined) return NO_AUTHORITY;
  if (head.authority !== undefined && host.toLowerCase() !== head.authority.toLowerCase()) return AUTHORITY_MISMATCH;
  if (head.url.charCodeAt(0) !== 0x2f /* / */) return head.url === '*' ? checkTarget(head.method, head.url) : H2_INVALID_PATH;
  return checkTarget(head.method, head.url);
}
