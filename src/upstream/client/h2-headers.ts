// A request's head as HTTP/2 header fields, and a response's back as the
// name/value list the rest of weir uses. HTTP/2 has no connection-specific
// fields (RFC 9113 section 8.2.2): a request carrying one is malformed, so
// they are left out here whatever the caller passed; Host becomes
// :authority.

import { UnwritableRequest, type RequestToWrite } from './request-writer.ts';

// Fields that only mean something to one HTTP/1.1 connection.
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const UNSAFE_VALUE = /[\r\n\0]/;
const UNSAFE_TARGET = /[\s\0]/;

/**
 * The request's header fields for HTTP/2, pseudo-fields first, as a flat
 * name/value list. `defaultAuthority` is the backend's host:port, sent when
 * the request had no Host. Throws UnwritableRequest for what cannot be sent.
 */
export function h2RequestHeaders(request: RequestToWrite, defaultAuthority: string, scheme: 'http' | 'https'): string[] {
  const { method, target, headers } = request;
  if (!TOKEN.test(method)) throw new UnwritableRequest(`invalid method ${JSON.stringify(method)}`);
  if (method === 'CONNECT') throw new UnwritableRequest('CONNECT cannot be forwarded to an HTTP/2 backend');
  if (target.length === 0 || UNSAFE_TARGET.test(target)) throw new UnwritableRequest('invalid request target');
  let authority: string | undefined;
  let contentLength: string | undefined;
  let grpc = false;
  let te = false;
  const fields: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    const value = headers[i + 1]!;
    if (!TOKEN.test(name)) throw new UnwritableRequest(`invalid header name ${JSON.stringify(headers[i])}`);
    if (UNSAFE_VALUE.test(value)) throw new UnwritableRequest(`invalid value of header ${name}`);
    if (CONNECTION_SPECIFIC.has(name)) continue;
    if (name === 'host') {
      authority ??= value;
      continue;
    }
    if (name === 'te') {
      // The one value HTTP/2 allows: the client takes trailers (gRPC needs them).
      if (value.trim().toLowerCase() !== 'trailers') continue;
      te = true;
    } else if (name === 'content-length') {
      if (contentLength !== undefined) {
        if (contentLength !== value) throw new UnwritableRequest('two different Content-Length values');
        continue;
      }
      if (!/^\d+$/.test(value)) throw new UnwritableRequest('invalid Content-Length');
      contentLength = value;
    } else if (name === 'content-type') {
      grpc ||= value.startsWith('application/grpc');
    }
    fields.push(name, value);
  }
  // gRPC requires "te: trailers"; weir drops TE as hop-by-hop before this point.
  if (grpc && !te) fields.push('te', 'trailers');
  return [':method', method, ':scheme', scheme, ':authority', authority ?? defaultAuthority, ':path', target, ...fields];
}

/** A response's or trailers' raw fields without the pseudo-fields (:status). */
export function withoutPseudoFields(raw: readonly string[]): string[] {
  const fields: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) !== 58 /* ':' */) fields.push(name, raw[i + 1]!);
  }
  return fields;
}

/** The value of Content-Length in a request's h2 fields, if any: the body must match it. */
export function declaredLength(fields: readonly string[]): number | undefined {
  for (let i = 8; i < fields.length; i += 2) if (fields[i] === 'content-length') return Number(fields[i + 1]);
  return undefined;
}

// The fields of a gRPC status: the end of a call, trailers by meaning.
const GRPC_STATUS_FIELDS = new Set(['grpc-status', 'grpc-message', 'grpc-status-details-bin']);

/**
 * A gRPC "Trailers-Only" response (one HEADERS frame that ends the stream,
 * the status in it) as an ordinary head and trailers: what a gRPC client
 * also accepts, and what every way weir answers a client can carry (an
 * HTTP/1.1 chunked body, or HTTP/2 HEADERS then trailers). Undefined for
 * any other response.
 */
export function splitTrailersOnly(fields: readonly string[]): { head: string[]; trailers: string[] } | undefined {
  let grpc = false;
  let status = false;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!.toLowerCase();
    if (name === 'content-type') grpc = fields[i + 1]!.startsWith('application/grpc');
    else if (name === 'grpc-status') status = true;
  }
  if (!grpc || !status) return undefined;
  const head: string[] = [];
  const trailers: string[] = [];
  for (let i = 0; i < fields.length; i += 2) (GRPC_STATUS_FIELDS.has(fields[i]!.toLowerCase()) ? trailers : head).push(fields[i]!, fields[i + 1]!);
  return { head, trailers };
}
