// One bodiless request through a backend pool, its response read whole (up
// to a bound): what an active health check needs. It goes over the same
// connections and parser as proxied requests, so a check sees a backend as
// requests do.

import type { ExchangeHandler } from './connection.ts';
import type { UpstreamPool } from './upstream-pool.ts';

export interface WholeResponse {
  status: number;
  /** The body's first `maxBodyBytes` bytes. */
  body: Buffer;
}

export class WholeResponseTimeout extends Error {
  override name = 'WholeResponseTimeout';
  readonly code = 'WEIR_WHOLE_RESPONSE_TIMEOUT';
}

export function requestWhole(
  pool: UpstreamPool,
  request: { method: string; target: string; headers: string[] },
  timeoutMs: number,
  maxBodyBytes: number,
  signal?: AbortSignal,
): Promise<WholeResponse> {
  return new Promise((resolve, reject) => {
    let status = 0;
    const chunks: Buffer[] = [];
    let kept = 0;
    const settle = (error: Error | undefined): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve({ status, body: Buffer.concat(chunks) });
    };
    const handler: ExchangeHandler = {
      onHead(code) {
        status = code;
        return true;
      },
      onData(chunk) {
        if (kept < maxBodyBytes) {
          const piece = chunk.subarray(0, maxBodyBytes - kept);
          chunks.push(piece);
          kept += piece.length;
        }
        return true;
      },
      onComplete: () => settle(undefined),
      onUpgrade: (_status, _headers, socket) => {
        socket.destroy();
        settle(new Error('answered 101 Switching Protocols'));
      },
      onError: (error) => settle(error),
    };
    const exchange = pool.dispatch({ ...request, hasBody: false, body: null, upgrade: undefined }, timeoutMs, handler);
    const timer = setTimeout(() => exchange.abort(new WholeResponseTimeout(`no whole response within ${timeoutMs}ms`)), timeoutMs);
    const onAbort = (): void => exchange.abort(new Error('stopped'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
