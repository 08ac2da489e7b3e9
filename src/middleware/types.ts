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

/** What a step may read about the request besides the upstream request itself. */
export interface RequestContext {
  /** The client's address as seen by weir (IPv4-mapped IPv6 already unwrapped). */
  clientIp: string;
  /** Lower-case host from the Host header, without the port ("" when absent). */
  host: string;
  /** Normalized path used for matching and firewall checks (no query). */
  normalizedPath: string;
}

/** Changes the upstream request in place. */
export type RequestStep = (req: UpstreamRequest, ctx: RequestContext) => void;

/** Returns a short reason when the request must be refused with 403, undefined to let it pass. */
export type FirewallCheck = (ctx: RequestContext) => string | undefined;
