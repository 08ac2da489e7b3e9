// weir plan: what changes between a running config and a new one, and what
// in the new one deserves a second look.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfigText } from '../config/load.ts';
import type { WeirConfig } from '../config/types.ts';
import { createRouter } from '../routing/router.ts';
import { configWarnings } from './config-warnings.ts';
import { formatPlan, planConfigChange } from './plan.ts';

const load = (...lines: string[]): WeirConfig => loadConfigText(`${lines.join('\n')}\n`, 'weir.yaml', { env: {} });

/** A config with the given route lines and two services, api and web, each with a health check. */
const withRoutes = (...routes: string[]): WeirConfig =>
  load(
    'routes:',
    ...routes,
    'services:',
    '  api: { servers: [127.0.0.1:8081], health_check: {} }',
    '  web: { servers: [127.0.0.1:9081], health_check: {} }',
  );

const changes = (running: WeirConfig, next: WeirConfig): string[] => planConfigChange(running, next).changes;

describe('planConfigChange: routes', () => {
  const base = ['  - { name: api, path: /api, service: api }', '  - { name: site, service: web }'];

  test('the same config, however written, has no changes', () => {
    const running = withRoutes(...base);
    const next = load(
      '# the same, written differently',
      'routes:',
      '  - name: api',
      '    path: /api',
      '    service: api',
      '  - { name: site, service: web }',
      'services:',
      '  api: { servers: ["127.0.0.1:8081"], health_check: { interval: 5s }, retries: { attempts: 2 } }',
      '  web: { servers: [127.0.0.1:9081], health_check: {} }',
    );
    assert.deepEqual(changes(running, next), []);
  });

  test('a route added, removed, or changed is found by name; a change names each key', () => {
    const running = withRoutes(...base, '  - { name: old, path: /old, service: web }');
    const next = withRoutes(
      '  - { name: api, host: api.example.com, path_exact: /api, methods: [GET], service: web, retry_non_idempotent: true }',
      '  - { name: site, service: web }',
      '  - { name: beta, host: "*.beta.example", path: /b, redirect: { to: "https://x${request_uri}", status: 308 } }',
    );
    assert.deepEqual(changes(running, next), [
      '~ route "api": host: any → api.example.com',
      '~ route "api": path: prefix /api → exact /api',
      '~ route "api": methods: any → GET',
      '~ route "api": service: api → web',
      '~ route "api": retry_non_idempotent: false → true',
      '+ route "beta": host *.beta.example, path prefix /b → redirect 308 https://x${request_uri}',
      '- route "old": any host, path prefix /old → service web',
    ]);
  });

  test('path rewriting and what a route does are compared key by key', () => {
    const running = withRoutes('  - { name: a, path: /a, strip_prefix: true, service: api, timeouts: { connect: 1s } }');
    const next = withRoutes(
      '  - name: a',
      '    path: /a',
      '    rewrite: { replace: { /v1/: /v2/ }, regex: "^/x/(.*)$", to: "/y/$1", add_prefix: /p }',
      '    https_redirect: true',
      '    canonical_host: www.example.com',
      '    respond: { status: 503, body: closed }',
      '    timeouts: { connect: 2s, idle: 5s }',
    );
    assert.deepEqual(changes(running, next), [
      '~ route "a": strip_prefix: /a → none',
      '~ route "a": rewrite.replace: + /v1/: /v2/',
      '~ route "a": rewrite.regex: none → ^/x/(.*)$ to /y/$1',
      '~ route "a": rewrite.add_prefix: none → /p',
      '~ route "a": https_redirect: false → true',
      '~ route "a": canonical_host: none → www.example.com',
      '~ route "a": service: api → none',
      '~ route "a": respond: none → 503, 6 bytes',
      '~ route "a": timeouts.connect: 1s → 2s',
      '~ route "a": timeouts.idle: service\'s → 5s',
    ]);
  });

  test('rules are summarised per route: firewall, rate limits, headers, query', () => {
    const running = withRoutes(
      '  - name: api',
      '    service: api',
      '    firewall: { ip_reject: [10.0.0.0/8, 192.168.1.7], path_reject: [/admin], max_body_size: 1m }',
      '    rate_limit: { rate: 100/s }',
      '    request_headers: { set: { X-Env: prod }, remove: [Cookie] }',
      '    query: { remove: [debug] }',
    );
    const next = withRoutes(
      '  - name: api',
      '    service: api',
      '    firewall: { ip_reject: [192.168.1.7, 10.1.0.0/16], path_reject: [/admin, { regex: "\\\\.php$" }], methods: [GET, POST] }',
      '    rate_limit: [{ rate: 50/s, burst: 10 }, { rate: 1000/m, key: "header:X-Api-Key" }]',
      '    request_headers: { set: { X-Env: staging }, remove: [Cookie] }',
      '    response_headers: { add: { X-Route: "${route}" } }',
      '    query: { remove: [debug], add: { source: weir } }',
    );
    assert.deepEqual(changes(running, next), [
      '~ route "api": firewall.ip_reject: + 10.1.0.0/16, - 10.0.0.0/8',
      '~ route "api": firewall.path_reject: + regex \\.php$',
      '~ route "api": firewall.methods: any → GET, POST',
      '~ route "api": firewall.max_body_size: 1048576 bytes → none',
      '~ route "api": rate_limit: + 50/s burst 10 per client_ip (local), + 1000/m burst 17 per header:x-api-key (local), - 100/s burst 100 per client_ip (local)',
      '~ route "api": request_headers.set: + X-Env: staging, - X-Env: prod',
      '~ route "api": response_headers.add: + X-Route: ${route}',
      '~ route "api": query.add: + source: weir',
    ]);
  });

  test('a list that only changed order says so', () => {
    const running = withRoutes('  - { name: a, service: api, rewrite: { replace: { a: b, c: d } } }');
    const next = withRoutes('  - { name: a, service: api, rewrite: { replace: { c: d, a: b } } }');
    assert.deepEqual(changes(running, next), ['~ route "a": rewrite.replace: reordered: a: b, c: d → c: d, a: b']);
  });
});

describe('planConfigChange: services and backends', () => {
  const config = (...services: string[]): WeirConfig => load('routes:', '  - service: api', 'services:', ...services);

  test('a service added or removed, with its servers', () => {
    const running = config('  api: { servers: [127.0.0.1:8081] }', '  old: { servers: [127.0.0.1:7001] }');
    const next = config('  api: { servers: [127.0.0.1:8081] }', '  new: { servers: [127.0.0.1:9001, { address: 127.0.0.1:9002, backup: true }], balance: ewma }');
    assert.deepEqual(changes(running, next), [
      '+ service "new": ewma, servers 127.0.0.1:9001, 127.0.0.1:9002 (backup)',
      '- service "old": round_robin, servers 127.0.0.1:7001',
    ]);
  });

  test('a changed service names each key that changed', () => {
    const running = config('  api: { servers: [127.0.0.1:8081], health_check: {}, retries: { attempts: 2 } }');
    const next = config(
      '  api:',
      '    servers: [127.0.0.1:8081]',
      '    balance: consistent_hash',
      '    hash_key: header:X-User',
      '    sticky: { cookie: s }',
      '    health_check: { path: /ready, interval: 10s }',
      '    passive_health: false',
      '    retries: { attempts: 0, on_statuses: [502] }',
      '    max_connections: 100',
      '    queue: { size: 10 }',
      '    timeouts: { connect: 1s }',
      '    slow_start: 30s',
      '    panic_threshold: 50%',
    );
    assert.deepEqual(changes(running, next), [
      '~ service "api": balance: round_robin → consistent_hash',
      '~ service "api": hash_key: client_ip → header:x-user',
      '~ service "api": sticky: none → cookie s',
      '~ service "api": health_check.path: /healthcheck → /ready',
      '~ service "api": health_check.interval: 5s → 10s',
      '~ service "api": passive_health: 5 failures, ejection 10s to 5m, at most 50% → off',
      '~ service "api": panic_threshold: 0% → 50%',
      '~ service "api": slow_start: none → 30s',
      '~ service "api": retries.attempts: 2 → 0',
      '~ service "api": retries.on_statuses: + 502',
      '~ service "api": max_connections: unlimited → 100',
      '~ service "api": queue.size: 100 → 10',
      '~ service "api": timeouts.connect: 5s → 1s',
    ]);
  });

  test('a health check added or removed is one line', () => {
    const without = config('  api: { servers: [127.0.0.1:8081] }');
    const withCheck = config('  api: { servers: [127.0.0.1:8081], health_check: { type: tcp } }');
    assert.deepEqual(changes(without, withCheck), ['~ service "api": health_check: none → tcp every 5s']);
    assert.deepEqual(changes(withCheck, without), ['~ service "api": health_check: tcp every 5s → none']);
  });

  test('backends of a service kept: added, removed, weight and backup changed', () => {
    const running = config('  api: { servers: [127.0.0.1:8081, localhost:8082, "[::1]:8083"] }');
    const next = config(
      '  api: { servers: [{ address: localhost:8082, weight: 2 }, { address: "[::1]:8083", backup: true }, 127.0.0.1:8084, { address: 127.0.0.1:8085, weight: 3 }] }',
    );
    assert.deepEqual(changes(running, next), [
      '+ backend "api" 127.0.0.1:8084',
      '+ backend "api" 127.0.0.1:8085 (weight 3)',
      '- backend "api" 127.0.0.1:8081',
      '~ backend "api" localhost:8082: weight: 1 → 2',
      '~ backend "api" [::1]:8083: backup: false → true',
    ]);
  });
});

describe('planConfigChange: settings and defaults', () => {
  test('top-level settings and the rules of defaults', () => {
    const running = load('routes:', '  - service: api', 'services:', '  api: { servers: [127.0.0.1:8081] }');
    const next = load(
      'listen: 0.0.0.0:80',
      'trusted_proxies: [10.0.0.0/8]',
      'request_id: false',
      'limits: { client_connections: 100 }',
      'client_timeouts: { header: 10s }',
      'defaults: { firewall: { ip_reject: [192.0.2.0/24] }, response_headers: { remove: [Server] } }',
      'routes:',
      '  - service: api',
      'services:',
      '  api: { servers: [127.0.0.1:8081] }',
    );
    const plan = planConfigChange(running, next);
    assert.equal(plan.settings, 7);
    assert.match(formatPlan(plan, 'a', 'b'), /settings ~7;/);
    assert.deepEqual(plan.changes, [
      '~ setting listen: 127.0.0.1:8080 → 0.0.0.0:80',
      '~ setting trusted_proxies: + 10.0.0.0/8',
      '~ setting request_id: X-Request-Id → off',
      '~ setting limits.client_connections: 10000 → 100',
      '~ setting client_timeouts.header: 30s → 10s',
      '~ defaults: firewall.ip_reject: + 192.0.2.0/24',
      '~ defaults: response_headers.remove: + server',
    ]);
  });
});

describe('formatPlan', () => {
  test('the changes, then the warnings, then one summary line', () => {
    const running = withRoutes('  - { name: api, path: /api, service: api }', '  - { name: old, service: web }');
    const next = load(
      'routes:',
      '  - { name: api, path: /api, service: api }',
      '  - { name: new, path: /new, service: api }',
      'services:',
      '  api: { servers: [127.0.0.1:8081, 127.0.0.1:8082], health_check: {} }',
      '  web: { servers: [127.0.0.1:9081] }',
    );
    assert.equal(
      formatPlan(planConfigChange(running, next), 'running.yaml', 'new.yaml'),
      [
        'plan: running.yaml → new.yaml',
        '+ route "new": any host, path prefix /new → service api',
        '- route "old": any host, any path → service web',
        '~ service "web": health_check: GET /healthcheck every 5s → none',
        '+ backend "api" 127.0.0.1:8082',
        'warning: service "web" is not used by any route',
        'warning: service "web" has no health_check: its servers are taken as up, and only failed requests (passive_health) take one out',
        'summary: routes +1 -1 ~0, services +0 -0 ~1, backends +1 -0 ~0, settings ~0; 2 warnings',
      ].join('\n'),
    );
  });

  test('no changes says so', () => {
    const config = withRoutes('  - { name: api, service: api }', '  - { name: web, path: /web, service: web }');
    const text = formatPlan(planConfigChange(config, config), 'a.yaml', 'b.yaml');
    assert.match(text, /^no changes$/m);
    assert.match(text, /^summary: routes \+0 -0 ~0, services \+0 -0 ~0, backends \+0 -0 ~0, settings ~0; 0 warnings$/m);
  });
});

describe('configWarnings', () => {
  test('a route no request can reach: a catch-all with the same host comes first', () => {
    const config = withRoutes(
      '  - { name: all, path: /, service: api }',
      '  - { name: rest, service: web }',
      '  - { name: api-any, host: api.example.com, service: api }',
      '  - { name: api-get, host: api.example.com, methods: [GET], service: web }',
      '  - { name: other-host, host: www.example.com, methods: [GET], service: web }',
    );
    assert.deepEqual(configWarnings(config), [
      'warning: route "rest" can never match: route "all" (any host, path prefix /, any method) is tried first and matches every request it would',
      'warning: route "api-get" can never match: route "api-any" (host api.example.com, any path, any method) is tried first and matches every request it would',
    ]);
  });

  test('the same path with fewer methods, later in the file, is shadowed; more methods or a longer prefix is not', () => {
    const config = withRoutes(
      '  - { name: users, path: /users, methods: [GET, POST], service: api }',
      '  - { name: users-get, path: /users, methods: [GET], service: web }',
      '  - { name: users-all, path: /users, service: web }',
      '  - { name: users-v2, path: /users/v2, methods: [GET], service: web }',
      '  - { name: status, path_exact: /status, service: api }',
      '  - { name: status-head, path_exact: /status, methods: [HEAD], service: web }',
      '  - { name: re, path_regex: "^/r/[0-9]+$", service: api }',
      '  - { name: re-get, path_regex: "^/r/[0-9]+$", methods: [GET], service: web }',
      '  - { name: re-other, path_regex: "^/r/", methods: [GET], service: web }',
    );
    assert.deepEqual(configWarnings(config), [
      'warning: route "users-get" can never match: route "users" (any host, path prefix /users, methods GET, POST) is tried first and matches every request it would',
      'warning: route "status-head" can never match: route "status" (any host, path exact /status, any method) is tried first and matches every request it would',
      'warning: route "re-get" can never match: route "re" (any host, path regex ^/r/[0-9]+$, any method) is tried first and matches every request it would',
    ]);
  });

  test('a wildcard host is not shadowed by an exact one, nor an exact host by a route for any host', () => {
    const config = withRoutes(
      '  - { name: exact, host: a.example.com, service: api }',
      '  - { name: wild, host: "*.example.com", service: web }',
      '  - { name: any, service: web }',
    );
    assert.deepEqual(configWarnings(config), []);
  });

  test('what the warnings say is what the router does', () => {
    const config = withRoutes(
      '  - { name: all, path: /, service: api }',
      '  - { name: rest, service: web }',
      '  - { name: users, path: /users, methods: [GET, POST], service: api }',
      '  - { name: users-get, path: /users, methods: [GET], service: web }',
      '  - { name: users-v2, path: /users/v2, methods: [GET], service: web }',
    );
    const router = createRouter(config.routes.map((route) => ({ ...route, value: route.name })));
    const matched = new Set<string>();
    for (const path of ['/', '/x', '/users', '/users/1', '/users/v2', '/users/v2/x']) {
      for (const method of ['GET', 'POST', 'PUT']) matched.add(router.match('h', path, method)?.value ?? '');
    }
    const shadowed = configWarnings(config).map((warning) => /route "([^"]+)" can never match/.exec(warning)?.[1]);
    assert.deepEqual(shadowed, ['rest', 'users-get']);
    for (const name of shadowed) assert.ok(!matched.has(name ?? ''), `${name} matched a request`);
    for (const name of ['all', 'users', 'users-v2']) assert.ok(matched.has(name), `${name} never matched`);
  });

  test('an unused service, a service without health checks, retries of non-idempotent requests', () => {
    const config = load(
      'routes:',
      '  - { name: pay, path: /pay, service: api, retry_non_idempotent: true }',
      '  - { name: read, path: /read, methods: [GET], service: api, retry_non_idempotent: true }',
      '  - { name: web, service: web, retry_non_idempotent: true }',
      'services:',
      '  api: { servers: [127.0.0.1:8081], health_check: {} }',
      '  web: { servers: [127.0.0.1:9081], health_check: {}, retries: { attempts: 0 } }',
      '  spare: { servers: [127.0.0.1:7001], passive_health: false }',
    );
    assert.deepEqual(configWarnings(config), [
      'warning: route "pay" retries non-idempotent requests (retry_non_idempotent: true): a POST or PATCH the backend may have seen can be sent to another one',
      'warning: service "spare" is not used by any route',
      'warning: service "spare" has no health_check and passive_health is off: a dead server keeps getting requests',
    ]);
  });
});
