// The request as the backend will receive it, built once per request and
// changed in place by the route's steps. Steps are compiled from config once
// (see runtime/), so on the hot path a step is one plain function call.

export interface UpstreamRequest {
  method: string;
  /** Path as it will be forwarded, starting with "/". Keeps the client's encoding unless a rule changed it. */
  path: string;
  /** Query string without the leading "?"; "" when there is none. */
  query: string;
  /** Flat list [name, value, name, value, ...], names as the client wrote them. */
  headers: string[];
}

/** What a step may read about the request besides the upstream request itself. Never changed by steps. */
export interface RequestContext {
  /** The client's address (IPv4-mapped IPv6 unwrapped): the peer, or what trusted proxies said it is. */
  clientIp: string;
  /** The connection's peer address (unwrapped like clientIp). */
  remoteAddr: string;
  /** Lower-case host from the Host header, without the port ("" when absent). */
  host: string;
  /** Normalized path used for matching (no query). See routing/normalize-path.ts. */
  normalizedPath: string;
  /** The path as the client sent it. */
  path: string;
  /** The query as the client sent it, without "?". */
  query: string;
  method: string;
  /** How the client reached weir: "https" only when a trusted proxy says so. */
  scheme: 'http' | 'https';
  /** Kept from the client when well formed, otherwise generated; "" when request ids are off. */
  requestId: string;
  /** The matched route's name ("" before routing). */
  routeName: string;
  /** The client's headers as sent, flat [name, value, ...]. */
  rawHeaders: readonly string[];
  /** Content-Length as sent; undefined when absent (no body, or a chunked one). */
  contentLength: number | undefined;
}

/** Changes the upstream request in place. */
export type RequestStep = (req: UpstreamRequest, ctx: RequestContext) => void;

/** Changes the response headers (flat [name, value, ...]) sent to the client, in place. */
export type ResponseStep = (headers: string[], ctx: RequestContext) => void;

/** Why a request is refused: the status, the rule that decided (for the log line), and headers of the answer. */
export interface Refusal {
  status: 403 | 405 | 413 | 414 | 431;
  /** The rule, as written: "ip_reject 10.0.0.0/8", "max_body_size 1048576". */
  rule: string;
  headers?: string[];
}

/** Returns the refusal when the request must not pass, undefined to let it through. */
export type RequestGuard = (ctx: RequestContext) => Refusal | undefined;
