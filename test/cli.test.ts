// The weir command: validate, explain, start with graceful stop, and the demo.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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

  it('says 404 when no route matches', async () => {
    const result = await runCli(['explain', '-c', COURSE, 'GET', 'http://www.notmango.com/']);
    assert.match(result.stdout, /verdict: +404/);
  });
});

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
    const [, url] = await weir.waitFor(/weir listening on (http:\/\/127\.0\.0\.1:\d+)/);
    assert.equal((await send(`${url}/`)).body, 'hello');
    const slow = send(`${url}/slow`);
    await eventually('the slow request to reach the backend', () => release !== undefined);
    weir.child.kill('SIGTERM');
    await weir.waitFor(/draining/);
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
