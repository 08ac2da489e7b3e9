// What an error from the upstream client means, as a Failure with an owner.
// The client library reports everything as errors with codes; only some of
// them are the backend's doing. An argument the library refuses before
// anything is sent comes from the client's request, and a body stream that
// failed carries its own failure (runtime/request-body.ts).

import { backendFailure, clientFailure, type Failure } from '../../failure.ts';

interface ErrorLike {
  code?: string;
  message?: string;
  failure?: Failure;
  cause?: { code?: string; message?: string };
}

export interface UpstreamTimeouts {
  connectMs: number;
  responseHeadersMs: number;
  idleMs: number;
}

export function classifyUpstreamError(error: unknown, timeouts: UpstreamTimeouts): Failure {
  const e = (error ?? {}) as ErrorLike;
  if (e.failure !== undefined) return e.failure;
  const code = e.code ?? e.cause?.code ?? '';
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return backendFailure(504, `connect timed out after ${timeouts.connectMs}ms`, 'connect');
    case 'WEIR_RESPONSE_HEADERS_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return backendFailure(504, `no response headers within ${timeouts.responseHeadersMs}ms`, 'before-response');
    case 'UND_ERR_BODY_TIMEOUT':
      return backendFailure(504, `response body idle for ${timeouts.idleMs}ms`, 'response');
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return clientFailure(400, 'request body does not match its Content-Length', { closeConnection: true });
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
      // Refused before a byte was sent: the request cannot be written as it is.
      return clientFailure(400, `request cannot be forwarded: ${e.message ?? code}`);
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return backendFailure(502, `connect failed: ${code}`, 'connect');
    case 'ECONNRESET':
    case 'EPIPE':
      return backendFailure(502, `connection reset (${code})`, 'before-response');
    case 'UND_ERR_SOCKET':
      return backendFailure(502, `backend closed the connection (${e.cause?.message ?? e.message ?? 'socket error'})`, 'before-response');
    default:
      return backendFailure(502, e.message ?? String(error), 'before-response');
  }
}
