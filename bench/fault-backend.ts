// A backend of the "backend failure under load" scenario, one process per
// backend so that one of them can be killed (kill -9) and started again.
//   GET /            200 "hello from backend <n>" (counted)
//   GET /healthcheck 200 "ok"                   (not counted)
//   GET /__count     200 {"requests":N,"firstAt":ms|null,"startedAt":ms} (not counted)
// Every other request is counted and answered like GET /. On SIGTERM it prints
// the count and exits. Usage: node bench/fault-backend.ts <port> [name]

import http from 'node:http';

const port = Number(process.argv[2]);
const name = process.argv[3] ?? String(port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: fault-backend.ts <port> [name]');
  process.exit(2);
}

const startedAt = Date.now();
let requests = 0;
/** Epoch ms of the first counted request, so the harness sees when traffic came back. */
let firstAt: number | null = null;
const body = `hello from backend ${name}\n`;

const server = http.createServer((req, res) => {
  if (req.url === '/healthcheck') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' });
    res.end('ok\n');
    return;
  }
  if (req.url === '/__count') {
    const text = JSON.stringify({ requests, firstAt, startedAt });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
    return;
  }
  requests++;
  firstAt ??= Date.now();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
});
// The load balancers keep upstream connections open; Node's default 5 s idle
// close would race with their reuse and show up as failures that are not the
// scenario's.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

server.listen(port, '127.0.0.1', () => console.log(`fault backend ${name} on 127.0.0.1:${port} (pid ${process.pid})`));

function shutdown(): void {
  console.log(`backend ${name}: ${requests} requests`);
  server.closeAllConnections();
  server.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
