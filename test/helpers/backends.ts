import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a test backend saw of one request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
}

export interface TestBackend {
  readonly name: string;
  readonly port: number;
  /** "127.0.0.1:port", as written in a config. */
  readonly address: string;
  readonly seen: SeenRequest[];
  readonly server: http.Server;
  close(): Promise<void>;
}

export type BackendHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** By default a backend answers "<name> <method> <url>" and 200 on /healthcheck. */
function defaultHandler(name: string): BackendHandler {
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain');
      res.setHeader('x-backend', name);
      res.end(req.url === '/healthcheck' ? 'ok' : `${name} ${req.method} ${req.url}`);
    });
  };
}

/** A real HTTP server on 127.0.0.1 and an ephemeral port, recording what it receives. */
export async function startBackend(name: string, handler: BackendHandler = defaultHandler(name), port = 0): Promise<TestBackend> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    if (req.url !== '/healthcheck') seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    name,
    port: actual,
    address: `127.0.0.1:${actual}`,
    seen,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
