// The weir command: validate, explain, start with graceful stop, and the demo.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { closedPort, startBackend, type TestBackend } from './helpers/backends.ts';
import { runCli, spawnCli } from './helpers/cli.ts';
import { eventually, send } from './helpers/client.ts';

const COURSE = fileURLToPath(new URL('../examples/course-loadbalancer.yaml', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../examples/weir.yaml', import.meta.url));

describe('weir validate', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'weir-cli-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('accepts the course example unchanged and the weir example, with a one-line summary', async () => {
    for (const file of [COURSE, EXAMPLE]) {
      const result = await runCli(['validate', file]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim().split('\n').length, 1);
      assert.match(result.stdout, /valid/);
    }
  });

  it('exits 2 naming file:line:column and the key of each problem', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, ['routes:', '  - path: /api', '    sevice: api', 'services:', '  api:', '    servers: [127.0.0.1:99999]', ''].join('\n'));
    const result = await runCli(['validate', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:5: routes\\[0\\]\\.sevice: .*did you mean "service"`));
    assert.match(result.stderr, /:6:\d+: services\.api\.servers\[0\]: /);
  });

  it('exits 2 for a file that does not exist', async () => {
    const result = await runCli(['validate', join(dir, 'missing.yaml')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /missing\.yaml/);
  });
});

describe('weir explain', () => {
  it('shows the route, the request as the backend receives it, the service and the candidates', async () => {
    const result = await runCli(['explain', '-c', COURSE, 'GET', 'http://www.mango.com/v1?RemoveMe=Remove&x=1']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /route: .*www\.mango\.com/);
    assert.match(result.stdout, /GET \/v2\?x=1&MyCustomParam=Test/);
    assert.match(result.stdout, /MyCustomHeader: Test/);
    assert.match(result.stdout, /host: <the backend's own address>/);
    assert.match(result.stdout, /least_connections/);
    assert.match(result.stdout, /localhost:8081 {2}not checked\n\s+localhost:8082 {2}not checked/);
  });

  it('with --check, runs one round of health checks and shows the state of each backend and why', async () => {
    const up = await startBackend('up');
    const dir = await mkdtemp(join(tmpdir(), 'weir-cli-'));
    try {
      const file = join(dir, 'weir.yaml');
      const down = `127.0.0.1:${await closedPort()}`;
      await writeFile(file, `routes:\n  - service: app\nservices:\n  app:\n    servers: [${up.address}, ${down}]\n    health_check: {}\n`);
      const result = await runCli(['explain', '-c', file, 'GET', '/', '--check']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`${up.address}  up: first check: GET /healthcheck answered 200`));
      assert.match(result.stdout, new RegExp(`${down}  down: GET /healthcheck failed: ECONNREFUSED`));
    } finally {
      await up.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('shows the firewall refusing a client IP and a path', async () => {
    const ip = await runCli(['explain', '-c', COURSE, '--client-ip', '10.192.0.1', 'GET', 'http://www.mango.com/']);
    assert.match(ip.stdout, /verdict: +403 \(firewall: ip_reject 10\.192\.0\.1\)/);
    const path = await runCli(['explain', '-c', COURSE, 'GET', '/%6Dessages', '-H', 'Host: www.apple.com']);
    assert.match(path.stdout, /verdict: +403 \(firewall: path_reject \/messages\)/);
  });

  it('shows every rule in the order it applies, and what each one changed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weir-cli-'));
    try {
      const file = join(dir, 'rules.yaml');
      await writeFile(
        file,
        [
          'trusted_proxies: [10.0.0.0/8]',
          'defaults:',
          '  request_headers: { set: { X-Seen-By: weir } }',
          '  firewall: { path_reject: [/admin] }',
          'routes:',
          '  - path: /old',
          '    rewrite: { regex: "^/old/(.*)$", to: "/new/$1", add_prefix: /v2 }',
          '    query: { remove: [utm] }',
          '    request_headers: { add: { X-Client: "${client_ip}" }, remove: [Cookie] }',
          '    response_headers: { set: { X-Frame-Options: DENY } }',
          '    rate_limit: { rate: 100/s }',
          '    service: app',
          '  - host: old.example.com',
          '    redirect: { to: "https://new.example.com${request_uri}", status: 308 }',
          'services:',
          '  app: { servers: [127.0.0.1:9001] }',
        ].join('\n'),
      );
      const result = await runCli(['explain', '-c', file, '--client-ip', '10.1.1.1', 'GET', 'http://shop.example/old/a?utm=1&x=2', '-H', 'Cookie: a=1', '-H', 'X-Forwarded-For: 203.0.113.5']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /client: +203\.0\.113\.5 \(from X-Forwarded-For: 10\.1\.1\.1 is a trusted proxy\)/);
      const rules = result.stdout.slice(result.stdout.indexOf('rules, in order:'), result.stdout.indexOf('backend receives:'));
      const expected = [
        /1\. defaults firewall: passed \(path_reject 1\)/,
        /2\. rate_limit routes\[0\]\.rate_limit: 100\/s, burst 100, per client_ip/,
        /3\. rewrite regex: path \/old\/a → \/new\/a/,
        /4\. rewrite add_prefix: path \/new\/a → \/v2\/new\/a/,
        /5\. defaults request_headers: \+ X-Seen-By: weir/,
        /6\. route query: query \?utm=1&x=2 → \?x=2/,
        /7\. route request_headers: - Cookie: a=1; \+ X-Client: 203\.0\.113\.5/,
        /8\. route response_headers \(on the answer\): = X-Frame-Options: DENY/,
      ];
      for (const line of expected) assert.match(rules, line);
      assert.match(result.stdout, /GET \/v2\/new\/a\?x=2\n/);

      const redirect = await runCli(['explain', '-c', file, 'GET', 'http://old.example.com/x?y']);
      assert.match(redirect.stdout, /verdict: +308 redirect to https:\/\/new\.example\.com\/x\?y/);
      // Routed as /old/..%2Fadmin, but a backend that decodes %2F would serve /admin.
      const refused = await runCli(['explain', '-c', file, 'GET', 'http://a/old/..%2FAdmin']);
      assert.match(refused.stdout, /verdict: +403 \(firewall: defaults: path_reject \/admin\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says 404 when no route matches', async () => {
    const result = await runCli(['explain', '-c', COURSE, 'GET', 'http://www.notmango.com/']);
    assert.match(result.stdout, /verdict: +404/);
  });
});

/**
 * Opens a new connection to 127.0.0.1:port and sends one GET: "answered"
 * when an HTTP response comes back, "refused" when the connection is refused,
 * reset or closed without a byte. A connection that stays open and silent
 * fails after the bound.
 */
function newConnection(port: number, timeoutMs = 3_000): Promise<'answered' | 'refused'> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`a new connection to port ${port} was neither answered nor closed within ${timeoutMs}ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(/^HTTP\/1\.1 \d{3} /.test(received) ? 'answered' : 'refused');
    });
  });
}

describe('weir start', () => {
  let backend: TestBackend;
  let dir: string;
  let release: (() => void) | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-cli-'));
    backend = await startBackend('app', (req, res) => {
      req.resume();
      if (req.url === '/slow') release = () => res.end('finished');
      else res.end('hello');
    });
  });
  after(async () => {
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves, then on SIGTERM stops accepting, lets the in-flight request finish, and exits 0', async () => {
    const file = join(dir, 'weir.yaml');
    await writeFile(file, `listen: 127.0.0.1:0\nroutes:\n  - path: /\n    service: app\nservices:\n  app:\n    servers: [${backend.address}]\n`);
    const weir = spawnCli(['start', '-c', file, '--listen', '127.0.0.1:0']);
    const [, url, port] = await weir.waitFor(/weir listening on (http:\/\/127\.0\.0\.1:(\d+))/);
    assert.equal((await send(`${url}/`)).body, 'hello');
    assert.equal(await newConnection(Number(port)), 'answered', 'before SIGTERM a new connection is served');
    let slowSettled = false;
    const slow = send(`${url}/slow`).finally(() => (slowSettled = true));
    await eventually('the slow request to reach the backend', () => release !== undefined);
    weir.child.kill('SIGTERM');
    await weir.waitFor(/draining/);
    // The slow request holds weir open; a newcomer gets no answer now.
    assert.equal(await newConnection(Number(port)), 'refused', 'after SIGTERM a new connection is refused or closed unanswered');
    assert.equal(slowSettled, false, 'the in-flight request was cut, not left to finish');
    assert.equal(weir.child.exitCode, null, 'weir exited with a request in flight');
    release?.();
    assert.equal((await slow).body, 'finished');
    assert.equal(await weir.exited, 0);
    assert.match(weir.output(), /weir stopped/);
  });

  it('exits 2 with the problem for an invalid config', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'routes: []\nservices: {}\nlisten: nowhere\n');
    const result = await runCli(['start', '-c', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /bad\.yaml:\d+:\d+: /);
  });

  it('runs the demo without a config: three backends in turn, and routes around a stopped one', async () => {
    const demo = spawnCli(['start', '--listen', '127.0.0.1:0']);
    try {
      const [, url] = await demo.waitFor(/weir demo: (http:\/\/127\.0\.0\.1:\d+)/);
      const who = async (): Promise<string> => /demo backend (\d)/.exec((await send(`${url}/hello`)).body)?.[1] ?? '?';
      const first = [await who(), await who(), await who()];
      assert.deepEqual([...first].sort(), ['1', '2', '3']);
      const stopped = /demo backend (\d)/.exec((await send(`${url}/stop`)).body)?.[1];
      await demo.waitFor(new RegExp(`is down`));
      for (let i = 0; i < 6; i++) {
        const reply = await send(`${url}/hello`);
        assert.equal(reply.status, 200);
        assert.notEqual(/demo backend (\d)/.exec(reply.body)?.[1], stopped);
      }
    } finally {
      demo.child.kill('SIGINT');
      assert.equal(await demo.exited, 0);
    }
  });
});
