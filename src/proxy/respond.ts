import type { ServerResponse } from 'node:http';
import { STATUS_TEXT } from './errors.ts';

/** Answers with a short plain-text body: weir's own answers (404, 403, 502, ...). */
export function respondPlain(res: ServerResponse, status: number, body = STATUS_TEXT[status] ?? 'Error', extraHeaders: string[] = []): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, [
    'content-type', 'text/plain; charset=utf-8',
    'content-length', String(Buffer.byteLength(body)),
    ...extraHeaders,
  ]);
  res.end(body);
}

/** The same answer written straight to a socket, where there is no ServerResponse (upgrades, parse errors). */
export function plainResponseBytes(status: number, body = STATUS_TEXT[status] ?? 'Error'): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
