import { STATUS_CODES, type ServerResponse } from 'node:http';
import { STATUS_TEXT } from './status-text.ts';

function statusText(status: number): string {
  return STATUS_TEXT[status] ?? STATUS_CODES[status] ?? 'Error';
}

/** Answers with a short plain-text body: weir's own answers (404, 403, 502, ...). */
export function respondPlain(res: ServerResponse, status: number, body = statusText(status), extraHeaders: readonly string[] = []): void {
  respond(res, status, ['content-type', 'text/plain; charset=utf-8', ...extraHeaders], body);
}

/** Answers with the given headers and body; Content-Length is added. */
export function respond(res: ServerResponse, status: number, headers: readonly string[], body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, [...headers, 'content-length', String(Buffer.byteLength(body))]);
  res.end(body);
}

/** The same answer written straight to a socket, where there is no ServerResponse (upgrades, parse errors). */
export function plainResponseBytes(status: number, body = statusText(status), extraHeaders: readonly string[] = []): string {
  return responseBytes(status, ['content-type', 'text/plain; charset=utf-8', ...extraHeaders], body);
}

/** A whole response as bytes for a raw socket, closing the connection after it. */
export function responseBytes(status: number, headers: readonly string[], body: string): string {
  let head = `HTTP/1.1 ${status} ${statusText(status)}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
