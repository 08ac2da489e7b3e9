// A backend in a process of its own, so a test can kill -9 it:
//   node backend-process.ts PORT NAME
// Answers NAME to every request and 200 on /healthcheck; prints "ready" once listening.
import http from 'node:http';

const [port, name] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  req.resume();
  res.setHeader('x-backend', name ?? 'backend');
  res.end(name);
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
