/**
 * Every way forwarding can fail, each with its one status and a short reason
 * for the log line. The proxy never lets an error escape; it classifies it
 * here and answers (or, once the response has started, cuts the connection).
 */
export interface ForwardFailure {
  status: 400 | 413 | 502 | 504;
  /** Short, for the log: "connect ECONNREFUSED", "no response headers within 60000ms". */
  reason: string;
  /** True when the client caused it (went away, sent a bad body): not the backend's fault. */
  clientSide: boolean;
  /** True when no connection was made: the backend never saw the request. */
  connectFailure: boolean;
}


/** The course's own text for "every backend is down", kept word for word. */
export const NO_BACKEND_BODY = 'No backend servers available.';

interface ErrorLike {
  code?: string;
  message?: string;
  cause?: { code?: string; message?: string };
}

export function classifyForwardError(error: unknown, timeouts: { connectMs: number; responseHeadersMs: number; idleMs: number }): ForwardFailure {
  const e = (error ?? {}) as ErrorLike;
  const code = e.code ?? e.cause?.code ?? '';
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return { status: 504, reason: `connect timed out after ${timeouts.connectMs}ms`, clientSide: false, connectFailure: true };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { status: 504, reason: `no response headers within ${timeouts.responseHeadersMs}ms`, clientSide: false, connectFailure: false };
    case 'UND_ERR_BODY_TIMEOUT':
      return { status: 504, reason: `response body idle for ${timeouts.idleMs}ms`, clientSide: false, connectFailure: false };
    case 'WEIR_BODY_TOO_LARGE':
      return { status: 413, reason: e.message ?? 'request body too large', clientSide: true, connectFailure: false };
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return { status: 400, reason: 'request body does not match its Content-Length', clientSide: true, connectFailure: false };
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { status: 502, reason: `connect failed: ${code}`, clientSide: false, connectFailure: true };
    case 'ECONNRESET':
    case 'EPIPE':
      return { status: 502, reason: `connection reset (${code})`, clientSide: false, connectFailure: false };
    case 'UND_ERR_SOCKET':
      return { status: 502, reason: `backend closed the connection (${e.cause?.message ?? e.message ?? 'socket error'})`, clientSide: false, connectFailure: false };
    default:
      return { status: 502, reason: e.message ?? String(error), clientSide: false, connectFailure: false };
  }
}
