// What an error from the upstream client means, as a Failure with an owner.
// weir's upstream client reports everything as errors with codes; only some of
// them are the backend's doing. A request weir cannot write as it is
// comes from the client, and a body stream that
// failed carries its own failure (runtime/request-body.ts).

import { backendFailure, clientFailure, type Failure } from '../../failure.ts';

interface ErrorLike {
  code?: string;
  message?: string;
  failure?: Failure;
  /** UpstreamError: the response head had arrived. */
  afterHead?: boolean;
}

export interface UpstreamTimeouts {
  connectMs: number;
  responseHeadersMs: number;
  idleMs: number;
}

export function classifyUpstreamError(error: unknown, timeouts: UpstreamTimeouts): Failure {
  const e = (error ?? {}) as ErrorLike;
  if (e.failure !== undefined) return e.failure;
  const code = e.code ?? '';
  const stage = e.afterHead === true ? 'response' : 'before-response';
  switch (code) {
    case 'WEIR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return backendFailure(504, `connect timed out after ${timeouts.connectMs}ms`, 'connect');
    case 'WEIR_RESPONSE_HEADERS_TIMEOUT':
      return backendFailure(504, `no response headers within ${timeouts.responseHeadersMs}ms`, 'before-response');
    case 'WEIR_BODY_TIMEOUT':
      return backendFailure(504, `response body idle for ${timeouts.idleMs}ms`, 'response');
    case 'WEIR_BODY_LENGTH':
      return clientFailure(400, 'request body does not match its Content-Length', { closeConnection: true });
    case 'WEIR_UNWRITABLE_REQUEST':
      // Refused before a byte was sent: the request cannot be written as it is.
      return clientFailure(400, `request cannot be forwarded: ${e.message ?? code}`);
    case 'WEIR_UPSTREAM_PROTOCOL':
      return backendFailure(502, `backend sent an ${e.message ?? 'invalid response'}`, stage);
    case 'WEIR_UPSTREAM_CLOSED':
      return backendFailure(502, e.message ?? 'backend closed the connection', stage);
    case 'WEIR_UPSTREAM_TLS':
      // The handshake or the certificate check failed: no byte of the request went out.
      return backendFailure(502, e.message ?? 'TLS handshake failed', 'connect');
    case 'WEIR_NOT_HTTP2':
      // The connection never spoke HTTP/2, so no request on it was processed.
      return backendFailure(502, e.message ?? 'backend does not speak HTTP/2', 'connect');
    case 'WEIR_STREAM_REFUSED':
      // Refused before it was processed (RFC 9113 section 8.7): safe to send again, whatever the method.
      return backendFailure(502, e.message ?? 'backend refused the stream', 'connect');
    case 'WEIR_UPSTREAM_RESET':
      return backendFailure(502, e.message ?? 'backend reset the stream', stage);
    case 'WEIR_UPGRADE_OVER_H2':
      // The service's backends speak HTTP/2, which has no Upgrade: the config's doing, not the backend's.
      return { owner: 'config', status: 501, reason: e.message ?? 'Upgrade cannot be forwarded over HTTP/2' };
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return backendFailure(502, `connect failed: ${code}`, 'connect');
    case 'ECONNRESET':
    case 'EPIPE':
      return backendFailure(502, `connection reset (${code})`, stage);
    default:
      return backendFailure(502, e.message ?? String(error), stage);
  }
}
