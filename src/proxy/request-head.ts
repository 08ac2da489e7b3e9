import { connectionTokens, isHopByHop } from './hop-by-hop.ts';

/** What weir needs to know about a client's request head, read in one pass. */
export interface ClientRequestHead {
  /** The Host header as sent, undefined when absent. */
  host: string | undefined;
  /** Whether a body follows (Content-Length other than 0, or Transfer-Encoding). */
  hasBody: boolean;
  /** Headers to forward: hop-by-hop ones removed, forwarding headers added. Flat [name, value, ...]. */
  headers: string[];
}

export interface ForwardingFacts {
  clientIp: string;
  /** "http" or "https": how the client reached weir. */
  protocol: string;
  /** For Upgrade requests: the Upgrade value to keep (hop-by-hop, but the tunnel needs it). */
  upgrade?: string | undefined;
}

const VIA = '1.1 weir';

/**
 * Builds the header list the backend receives: the client's headers minus
 * hop-by-hop ones (and any the Connection header names) and minus Expect
 * (weir answers 100-continue itself), with X-Forwarded-For appended to,
 * X-Forwarded-Proto and X-Forwarded-Host set, and Via added. Host is kept
 * as the client sent it.
 */
export function readClientRequestHead(raw: readonly string[], facts: ForwardingFacts): ClientRequestHead {
  let host: string | undefined;
  let hasBody = false;
  let forwardedFor = '';
  let via = '';
  const connectionValues: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (name === 'host') host ??= value;
    else if (name === 'connection') connectionValues.push(value);
    else if (name === 'transfer-encoding') hasBody = true;
    else if (name === 'content-length') hasBody ||= value.trim() !== '0';
    else if (name === 'x-forwarded-for') forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
    else if (name === 'via') via = via ? `${via}, ${value}` : value;
  }
  const listed = connectionTokens(connectionValues);

  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || listed?.has(lower)) continue;
    if (lower === 'expect' || lower === 'x-forwarded-for' || lower === 'x-forwarded-proto' || lower === 'x-forwarded-host' || lower === 'via') continue;
    headers.push(name, raw[i + 1]!);
  }
  headers.push('x-forwarded-for', forwardedFor ? `${forwardedFor}, ${facts.clientIp}` : facts.clientIp);
  headers.push('x-forwarded-proto', facts.protocol);
  if (host !== undefined) headers.push('x-forwarded-host', host);
  headers.push('via', via ? `${via}, ${VIA}` : VIA);
  if (facts.upgrade !== undefined) headers.push('connection', 'upgrade', 'upgrade', facts.upgrade);
  return { host, hasBody, headers };
}

/**
 * The backend's response headers as the client receives them: hop-by-hop
 * ones removed and Via added. undici hands them over as raw Buffers.
 */
export function responseHeadersForClient(raw: readonly Buffer[]): string[] {
  const headers: string[] = [];
  let via = '';
  const connectionValues: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toString('latin1').toLowerCase() === 'connection') {
      connectionValues.push(raw[i + 1]!.toString('latin1'));
    }
  }
  const listed = connectionTokens(connectionValues);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || listed?.has(lower)) continue;
    const value = raw[i + 1]!.toString('latin1');
    if (lower === 'via') {
      via = via ? `${via}, ${value}` : value;
      continue;
    }
    headers.push(name, value);
  }
  headers.push('via', via ? `${via}, ${VIA}` : VIA);
  return headers;
}
