// The "most used Node.js proxy" contender: a plain node:http server handing every
// request to http-proxy, round robin over the targets, with a keep-alive agent.
// Usage: node bench/http-proxy-lb.ts <port> <host:port> [<host:port> ...]

import http from 'node:http';
import httpProxy from 'http-proxy';

const [portArg, ...targets] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || targets.length === 0) {
  console.error('usage: http-proxy-lb.ts <port> <host:port> [<host:port> ...]');
  process.exit(2);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const proxy = httpProxy.createProxyServer({ agent });
const upstreams = targets.map((t) => `http://${t}`);
let next = 0;

const server = http.createServer((req, res) => {
  const target = upstreams[next] as string;
  next = (next + 1) % upstreams.length;
  proxy.web(req, res, { target }, (err) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`bad gateway: ${err.message}\n`);
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`http-proxy round robin on 127.0.0.1:${port} -> ${targets.join(', ')}`);
});

function shutdown(): void {
  server.close();
  agent.destroy();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
