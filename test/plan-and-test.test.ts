// The weir command's plan and test, end to end: exit codes, what they print,
// and environment variables in the config they read.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closedPort } from './helpers/backends.ts';
import { runCli } from './helpers/cli.ts';

const lines = (...text: string[]): string => `${text.join('\n')}\n`;

const RUNNING = lines(
  'routes:',
  '  - { name: api, host: api.example.com, service: api }',
  '  - { name: old, path: /old, service: web }',
  '  - { name: site, service: web }',
  'services:',
  '  api: { servers: [127.0.0.1:8081, 127.0.0.1:8082], health_check: {} }',
  '  web: { servers: [127.0.0.1:9081], health_check: {} }',
);

const NEXT = lines(
  'routes:',
  '  - { name: api, host: api.example.com, methods: [GET], service: api }',
  '  - { name: all, path: /, service: web }',
  '  - { name: site, service: web }',
  'services:',
  '  api: { servers: [127.0.0.1:8081, { address: 127.0.0.1:8083, weight: 2 }], health_check: {} }',
  '  web: { servers: [127.0.0.1:9081], health_check: {} }',
  '  spare: { servers: [127.0.0.1:7001] }',
);

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('weir plan', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-plan-'));
    await writeFile(join(dir, 'running.yaml'), RUNNING);
    await writeFile(join(dir, 'new.yaml'), NEXT);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('prints the changes and the warnings, and exits 0 for a valid new config', async () => {
    const result = await runCli(['plan', join(dir, 'new.yaml'), '-c', join(dir, 'running.yaml')]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      lines(
        `plan: ${join(dir, 'running.yaml')} → ${join(dir, 'new.yaml')}`,
        '~ route "api": methods: any → GET',
        '+ route "all": any host, path prefix / → service web',
        '- route "old": any host, path prefix /old → service web',
        '+ service "spare": round_robin, servers 127.0.0.1:7001',
        '+ backend "api" 127.0.0.1:8083 (weight 2)',
        '- backend "api" 127.0.0.1:8082',
        'warning: route "site" can never match: route "all" (any host, path prefix /, any method) is tried first and matches every request it would',
        'warning: service "spare" is not used by any route',
        'warning: service "spare" has no health_check: its servers are taken as up, and only failed requests (passive_health) take one out',
        'summary: routes +1 -1 ~1, services +1 -0 ~0, backends +1 -1 ~0, settings ~0; 3 warnings',
      ),
    );
  });

  it('exits 2 and prints the issues of an invalid new config, like validate', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, lines('routes:', '  - path: /api', '    sevice: api', 'services:', '  api: { servers: [127.0.0.1:8081] }'));
    const result = await runCli(['plan', bad, '-c', join(dir, 'running.yaml')]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, new RegExp(`${escape(bad)}:3:5: routes\\[0\\]\\.sevice: unknown key; did you mean "service"\\?`));
  });

  it('needs exactly one of -c and --admin', async () => {
    for (const args of [['plan', join(dir, 'new.yaml')], ['plan', join(dir, 'new.yaml'), '-c', 'a.yaml', '--admin', 'http://127.0.0.1:1']]) {
      const result = await runCli(args);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /plan takes the new config file and either -c RUNNING\.yaml or --admin URL/);
    }
  });

  it('--admin compares with the config a live weir serves at /api/config, with WEIR_ADMIN_TOKEN when set', async () => {
    const requests: string[] = [];
    const server: Server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? '(no token)'}`);
      if (req.headers.authorization === 'Bearer wrong') res.writeHead(403).end();
      else res.writeHead(200, { 'content-type': 'application/yaml' }).end(RUNNING);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const admin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const result = await runCli(['plan', join(dir, 'new.yaml'), '--admin', admin]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^plan: ${escape(admin)}/api/config → `));
      assert.match(result.stdout, /^~ route "api": methods: any → GET$/m);

      process.env.WEIR_ADMIN_TOKEN = 's3cret';
      assert.equal((await runCli(['plan', join(dir, 'new.yaml'), '--admin', `${admin}/`])).code, 0);
      process.env.WEIR_ADMIN_TOKEN = 'wrong';
      const refused = await runCli(['plan', join(dir, 'new.yaml'), '--admin', admin]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /the admin API at .*\/api\/config answered 403 \(set WEIR_ADMIN_TOKEN to the admin token\)/);
      assert.deepEqual(requests, ['GET /api/config (no token)', 'GET /api/config Bearer s3cret', 'GET /api/config Bearer wrong']);
    } finally {
      delete process.env.WEIR_ADMIN_TOKEN;
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('exits 1 when the admin API cannot be reached', async () => {
    const result = await runCli(['plan', join(dir, 'new.yaml'), '--admin', `http://127.0.0.1:${await closedPort()}`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+\/api\/config: ECONNREFUSED/);
  });
});

describe('weir test', () => {
  let dir: string;
  const config = lines(
    'routes:',
    '  - { name: api, host: api.example.com, path: /v1, strip_prefix: true, service: api, request_headers: { set: { Authorization: "Bearer ${API_TOKEN}" } } }',
    '  - { name: site, service: web, firewall: { ip_reject: [192.0.2.0/24] } }',
    'services:',
    '  api: { servers: ["${API_BACKEND:-127.0.0.1:8081}"] }',
    '  web: { servers: [127.0.0.1:9081] }',
  );
  const passing = lines(
    'tests:',
    '  - name: api',
    '    request: { url: "http://api.example.com/v1/users?x=1" }',
    '    expect: { route: api, service: api, backend_path: "/users?x=1", backend_headers: { Authorization: Bearer t0k3n } }',
    '  - name: refused',
    '    request: { url: "http://www.example.com/", client_ip: 192.0.2.7 }',
    '    expect: { route: site, status: 403 }',
  );
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-test-'));
    await writeFile(join(dir, 'weir.yaml'), config);
    await writeFile(join(dir, 'weir.test.yaml'), passing);
    process.env.API_TOKEN = 't0k3n';
  });
  after(async () => {
    delete process.env.API_TOKEN;
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one line per test and exits 0 when all pass; the config beside the spec is the default', async () => {
    for (const args of [['test', join(dir, 'weir.test.yaml'), '-c', join(dir, 'weir.yaml')], ['test', join(dir, 'weir.test.yaml')]]) {
      const result = await runCli(args);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(result.stdout, lines('ok   api', 'ok   refused', '2 tests: 2 passed, 0 failed'));
    }
  });

  it('exits 1 when a test fails, with what differed', async () => {
    const spec = join(dir, 'failing.yaml');
    await writeFile(spec, passing.replace('status: 403', 'status: forward'));
    const result = await runCli(['test', spec, '-c', join(dir, 'weir.yaml')]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, new RegExp(`^FAIL refused \\(${escape(spec)}:5:5\\)\\n {7}status: expected forward, got 403\\n`, 'm'));
    assert.match(result.stdout, /^2 tests: 1 passed, 1 failed$/m);
  });

  it('exits 2 for an invalid spec, with file:line:column', async () => {
    const spec = join(dir, 'bad.test.yaml');
    await writeFile(spec, passing.replace('route: site', 'rout: site'));
    const result = await runCli(['test', spec, '-c', join(dir, 'weir.yaml')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`${escape(spec)}:7:15: tests\\[1\\]\\.expect\\.rout: unknown key; did you mean "route"\\?`));
  });

  it('exits 2 for an invalid config, and for a variable it needs that is not set', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, config.replace('service: web,', 'service: wbe,'));
    const invalid = await runCli(['test', join(dir, 'weir.test.yaml'), '-c', bad]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /bad\.yaml:3:\d+: routes\[1\]\.service: unknown service "wbe"; did you mean "web"\?/);

    delete process.env.API_TOKEN;
    try {
      const unset = await runCli(['test', join(dir, 'weir.test.yaml')]);
      assert.equal(unset.code, 2);
      const column = config.split('\n')[1]!.indexOf('${API_TOKEN}') + 1;
      assert.match(unset.stderr, new RegExp(`weir\\.yaml:2:${column}: environment variable API_TOKEN is not set \\(write \\$\\{API_TOKEN:-default\\} for a default\\)`));
    } finally {
      process.env.API_TOKEN = 't0k3n';
    }
  });

  it('needs -c when the spec is not named after a config', async () => {
    const spec = join(dir, 'spec.yaml');
    await writeFile(spec, passing);
    const result = await runCli(['test', spec]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /test needs -c FILE/);
  });

  it('help names both commands', async () => {
    const result = await runCli(['help']);
    assert.match(result.stdout, /^ {2}weir plan NEW\.yaml \(-c RUNNING\.yaml \| --admin URL\)$/m);
    assert.match(result.stdout, /^ {2}weir test SPEC\.yaml \[-c FILE\] /m);
  });
});
