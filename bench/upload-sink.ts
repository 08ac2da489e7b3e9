// The upload scenario's backend: reads and discards the request body, then
// answers 200 with the number of bytes it received (the client checks it).
// Usage: node bench/upload-sink.ts <port>

import http from 'node:http';

const port = Number(process.argv[2]);
if (!Number.isInteger(port)) {
  console.error('usage: upload-sink.ts <port>');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`received ${received}\n`);
  });
  req.on('error', () => res.destroy());
});
server.requestTimeout = 0; // a 1 GiB body may take longer than the default 300 s on a slow path

server.listen(port, '127.0.0.1', () => console.log(`upload sink on 127.0.0.1:${port}`));

function shutdown(): void {
  server.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
