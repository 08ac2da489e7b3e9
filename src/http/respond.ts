import { responseHead } from './client-answer.ts';
import { statusText } from './status-text.ts';

/**
 * A whole plain-text answer as bytes for a bare socket, closing the
 * connection after it: for heads Node's parser refused, where there is no
 * request to answer through.
 */
export function plainResponseBytes(status: number, body = statusText(status)): string {
  const headers = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(body)), 'connection', 'close'];
  return responseHead(status, undefined, headers) + body;
}
