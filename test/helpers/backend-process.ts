// A backend in a process of its own, so a test can kill -9 it:
//   node backend-process.ts PORT NAME
// Answers NAME to every request (with X-Answered-At, its Date.now()) and 200 on /healthcheck; prints "ready" once listening.
import http from 'node:http';

const [port, name] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  req.resume();
  res.setHeader('x-backend', name ?? 'backend');
  // When the answer was made, by this process's clock: the test tells an answer
  // made before a kill from one that arrives late.
  res.setHeader('x-answered-at', String(Date.now()));
  res.end(name);
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
