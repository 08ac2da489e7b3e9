import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfigFile, loadConfigObject, loadConfigText, summarizeConfig } from './load.ts';
import { defaultClientTimeouts, defaultHealthCheck, defaultLimits, defaultTimeouts, noRules, server, serviceDefaults, topLevelDefaults } from './expected.fixtures.ts';
import { issuesIn, yaml } from './issues.fixtures.ts';
import { ConfigError } from './types.ts';

function issuesInObject(value: unknown, source?: string): string[] {
  try {
    loadConfigObject(value, source);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  assert.fail('the config loaded, but issues were expected');
}

/** A valid config with one route and one service, and `extra` lines added to the service. */
const withService = (...extra: string[]) =>
  yaml('routes:', '  - service: api', 'services:', '  api:', '    servers: [127.0.0.1:8081]', ...extra);

/** A valid config with `route` lines as the only route. */
const withRoute = (...route: string[]) => yaml('routes:', ...route, 'services:', '  api:', '    servers: [127.0.0.1:8081]');

// --- What a valid config becomes ---

test('a minimal config gets every default', () => {
  assert.deepEqual(loadConfigText(withService(), 'weir.yaml'), {
    form: 'weir',
    listen: { host: '127.0.0.1', port: 8080 },
    listeners: [{ address: { host: '127.0.0.1', port: 8080 }, http2: false }],
    ...topLevelDefaults,
    routes: [{ ...noRules, name: 'routes[0]', action: { kind: 'forward', service: 'api' } }],
    services: new Map([
      [
        'api',
        { ...serviceDefaults, name: 'api', servers: [server('127.0.0.1', 8081)], balance: 'round_robin', timeouts: defaultTimeouts },
      ],
    ]),
    source: 'weir.yaml',
  });
});

test('health_check: {} means every default; given values replace them', () => {
  const defaults = loadConfigText(withService('    health_check: {}'), 'weir.yaml');
  assert.deepEqual(defaults.services.get('api')?.healthCheck, defaultHealthCheck);

  const given = loadConfigText(
    withService(
      '    health_check:',
      '      path: /ready',
      '      interval: 1m',
      '      timeout: 1.5s',
      '      healthy_threshold: 1',
      '      unhealthy_threshold: 5',
      '      expected_statuses: [200, "204", 300-302]',
      '    timeouts: { connect: 250ms, response_headers: 2m, idle: 1h }',
    ),
    'weir.yaml',
  );
  const service = given.services.get('api');
  assert.deepEqual(service?.healthCheck, {
    type: 'http',
    method: 'GET',
    path: '/ready',
    intervalMs: 60_000,
    timeoutMs: 1500,
    healthyThreshold: 1,
    unhealthyThreshold: 5,
    expectedStatuses: [
      [200, 200],
      [204, 204],
      [300, 302],
    ],
  });
  assert.deepEqual(service?.timeouts, { connectMs: 250, responseHeadersMs: 120_000, idleMs: 3_600_000 });
});

test('route names are derived from the position, host and path when not given', () => {
  const config = loadConfigText(
    withRoute(
      '  - service: api',
      '    host: api.example.com',
      '    path: /api',
      '  - service: api',
      '    path_exact: /status',
      '  - service: api',
      '    host: "*.example.com"',
      '    path_regex: ^/users/[0-9]+$',
      '  - service: api',
    ),
    'weir.yaml',
  );
  assert.deepEqual(
    config.routes.map((route) => route.name),
    ['routes[0]: host api.example.com, path /api', 'routes[1]: path_exact /status', 'routes[2]: host *.example.com, path_regex ^/users/[0-9]+$', 'routes[3]'],
  );
});

test('strip_prefix: true strips the route path, a string strips itself, false strips nothing', () => {
  const config = loadConfigText(
    withRoute(
      '  - { service: api, path: /a, strip_prefix: true }',
      '  - { service: api, path: /b, strip_prefix: /b/c }',
      '  - { service: api, path: /c, strip_prefix: false }',
      '  - { service: api, path: /d }',
    ),
    'weir.yaml',
  );
  assert.deepEqual(
    config.routes.map((route) => route.stripPrefix),
    ['/a', '/b/c', '', ''],
  );
});

test('names and values are normalized the way the runtime compares them', () => {
  const config = loadConfigText(
    withRoute(
      '  - service: api',
      '    host: API.Example.com.',
      '    methods: [get, Post]',
      '    request_headers:',
      '      add: { X-Count: 3, X-Flag: true }',
      '      remove: [Cookie, X-Debug]',
      '    query:',
      '      add: { page: 1 }',
      '      remove: [Debug]',
    ),
    'weir.yaml',
  );
  const [route] = config.routes;
  assert.equal(route?.host, 'api.example.com');
  assert.deepEqual(route?.methods, ['GET', 'POST']);
  assert.deepEqual(route?.requestHeaders, {
    add: [
      ['X-Count', '3'],
      ['X-Flag', 'true'],
    ],
    set: [],
    remove: ['cookie', 'x-debug'],
  });
  assert.deepEqual(route?.query, { add: [['page', '1']], set: [], remove: ['Debug'] });
});

test('listen takes IPv6 in brackets and port 0', () => {
  const config = loadConfigText(`listen: "[::1]:0"\n${withService()}`, 'weir.yaml');
  assert.deepEqual(config.listen, { host: '::1', port: 0 });
  assert.equal(summarizeConfig(config), 'valid weir config: 1 route, 1 service, 1 server, listen [::1]:0');
});

test('limits and client_timeouts: every key defaulted, {} too, given values replace them', () => {
  const load = (...top: string[]) => loadConfigText(`${yaml(...top)}${withService()}`, 'weir.yaml');
  for (const config of [load(), load('limits: {}', 'client_timeouts: {}')]) {
    assert.deepEqual(config.limits, defaultLimits);
    assert.deepEqual(config.clientTimeouts, { headerMs: 30_000, bodyIdleMs: 60_000, keepAliveMs: 5000 });
  }

  const given = load(
    'limits:',
    '  client_connections: 500',
    '  pipelined_requests: 4',
    '  upstream_requests: 100',
    'client_timeouts:',
    '  header: 10s',
    '  body_idle: 1.5m',
    '  keep_alive: 750ms',
  );
  assert.deepEqual(given.limits, { ...defaultLimits, clientConnections: 500, pipelinedRequests: 4, upstreamRequests: 100 });
  assert.deepEqual(given.clientTimeouts, { headerMs: 10_000, bodyIdleMs: 90_000, keepAliveMs: 750 });

  // Each key on its own; the others keep their defaults.
  assert.deepEqual(load('limits: { upstream_requests: 1 }').limits, { ...defaultLimits, upstreamRequests: 1 });
  assert.deepEqual(load('client_timeouts: { keep_alive: 1m }').clientTimeouts, { ...defaultClientTimeouts, keepAliveMs: 60_000 });
  // 0: no pipelining, one request at a time.
  assert.equal(load('limits: { pipelined_requests: 0 }').limits.pipelinedRequests, 0);
});

// --- Issues, each with its file:line:column and key path ---

test('limits and client_timeouts: wrong values at their position, with their key path', () => {
  const issues = (...top: string[]) => issuesIn(`${yaml(...top)}${withService()}`);
  assert.deepEqual(issues('limits:', '  client_connections: 0', '  pipelined_requests: -1', '  upstream_requests: 2.5', '  upstream_request: 3'), [
    'weir.yaml:2:23: limits.client_connections: must be at least 1',
    'weir.yaml:3:23: limits.pipelined_requests: must be at least 0',
    'weir.yaml:4:22: limits.upstream_requests: must be a whole number, not 2.5',
    'weir.yaml:5:3: limits.upstream_request: unknown key; did you mean "upstream_requests"?',
  ]);
  assert.deepEqual(issues('limits: { client_connections: "many" }'), ['weir.yaml:1:31: limits.client_connections: must be a number, not "many"']);
  assert.deepEqual(issues('client_timeouts:', '  header: 30', '  body_idle: forever', '  keep_alive: 0s', '  idle: 5s'), [
    'weir.yaml:2:11: client_timeouts.header: 30 needs a unit: write "30s" for seconds or "30ms" for milliseconds (units: ms, s, m, h)',
    'weir.yaml:3:14: client_timeouts.body_idle: "forever" is not a duration; write a number and a unit (ms, s, m or h), like "500ms" or "5s"',
    'weir.yaml:4:15: client_timeouts.keep_alive: "0s" is too short; a duration must be at least 1ms',
    'weir.yaml:5:3: client_timeouts.idle: unknown key',
  ]);
  assert.deepEqual(issues('limits: 100'), ['weir.yaml:1:9: limits: must be a mapping, not 100']);
  assert.deepEqual(issues('client_timeouts:'), ['weir.yaml:1:1: client_timeouts: is empty; expected a mapping (write {} for an empty one)']);
});


test('unknown keys point at the key and suggest the closest known one', () => {
  assert.deepEqual(issuesIn(yaml('routes:', '  - sevice: api', '    service: api', 'services:', '  api:', '    servers: [127.0.0.1:8081]')), [
    'weir.yaml:2:5: routes[0].sevice: unknown key; did you mean "service"?',
  ]);
  assert.deepEqual(issuesIn(withService('    timeouts:', '      conect: 5s')), [
    'weir.yaml:7:7: services.api.timeouts.conect: unknown key; did you mean "connect"?',
  ]);
  assert.deepEqual(issuesIn(withService('    healthcheck: {}')), [
    'weir.yaml:6:5: services.api.healthcheck: unknown key; did you mean "health_check"?',
  ]);
  assert.deepEqual(issuesIn(`logging: {}\n${withService()}`), ['weir.yaml:1:1: logging: unknown key']);
});

test("the course's keys next to weir's are explained", () => {
  assert.deepEqual(issuesIn(`${withService()}hosts: []\n`), [
    "weir.yaml:6:1: hosts: unknown key; hosts belongs to the course's form, which cannot be mixed with routes and services",
  ]);
});

test('wrong types say what was expected and what was found', () => {
  assert.deepEqual(issuesIn(yaml('routes: {}', 'services:', '  api:', '    servers: 127.0.0.1:8081', '    balance: [random]')), [
    'weir.yaml:1:9: routes: must be a list, not a mapping',
    'weir.yaml:4:14: services.api.servers: must be a list, not "127.0.0.1:8081"',
    'weir.yaml:5:14: services.api.balance: a list is not one of "round_robin", "weighted_round_robin", "random", "least_connections", "power_of_two", "ewma", "ip_hash", "consistent_hash"',
  ]);
  assert.deepEqual(issuesIn(withService('    health_check:')), [
    'weir.yaml:6:5: services.api.health_check: is empty; expected a mapping (write {} for an empty one)',
  ]);
  assert.deepEqual(issuesIn(withService('    health_check: { healthy_threshold: 1.5, unhealthy_threshold: 0 }')), [
    'weir.yaml:6:40: services.api.health_check.healthy_threshold: must be a whole number, not 1.5',
    'weir.yaml:6:66: services.api.health_check.unhealthy_threshold: must be at least 1',
  ]);
});

test('a missing key is reported at its parent', () => {
  assert.deepEqual(issuesIn(yaml('listen: 127.0.0.1:8080')), ['weir.yaml:1:1: routes: is required', 'weir.yaml:1:1: services: is required']);
  assert.deepEqual(issuesIn(yaml('routes:', '  - host: a.example.com', 'services:', '  api:', '    balance: random')), [
    'weir.yaml:2:5: routes[0]: needs one of service, redirect or respond: what to do with the requests it matches',
    'weir.yaml:4:3: services.api.servers: is required',
  ]);
  assert.deepEqual(issuesIn(yaml('routes: []', 'services: {}')), ['weir.yaml:1:9: routes: must not be empty']);
});

test('a bad balance algorithm suggests the right spelling', () => {
  assert.deepEqual(issuesIn(withService('    balance: round-robin')), [
    'weir.yaml:6:14: services.api.balance: "round-robin" is not one of "round_robin", "weighted_round_robin", "random", "least_connections", "power_of_two", "ewma", "ip_hash", "consistent_hash"; did you mean "round_robin"?',
  ]);
});

test('bad addresses and ports', () => {
  assert.deepEqual(issuesIn(`listen: localhost\n${withService()}`), [
    'weir.yaml:1:9: listen: "localhost" has no port; write HOST:PORT, like "127.0.0.1:8080" or "[::1]:8080"',
  ]);
  assert.deepEqual(issuesIn(`listen: 8080\n${withService()}`), ['weir.yaml:1:9: listen: 8080 is only a port; write HOST:PORT, like "127.0.0.1:8080"']);
  assert.deepEqual(
    issuesIn(yaml('routes:', '  - service: api', 'services:', '  api:', '    servers:', '      - "::1:8081"', '      - localhost:0', '      - host:70000')),
    [
      'weir.yaml:6:9: services.api.servers[0]: "::1:8081": put an IPv6 address in brackets, like "[::1]:8080"',
      'weir.yaml:7:9: services.api.servers[1]: port 0 is only allowed for listen (where it picks a free port); a server needs its real port',
      'weir.yaml:8:9: services.api.servers[2]: port 70000 is out of range; use 1 to 65535',
    ],
  );
});

test('bad durations', () => {
  assert.deepEqual(issuesIn(withService('    health_check:', '      interval: 5', '      timeout: 2 s', '    timeouts: { connect: 0s }')), [
    'weir.yaml:7:17: services.api.health_check.interval: 5 needs a unit: write "5s" for seconds or "5ms" for milliseconds (units: ms, s, m, h)',
    'weir.yaml:8:16: services.api.health_check.timeout: "2 s" is not a duration; write a number and a unit (ms, s, m or h), like "500ms" or "5s"',
    'weir.yaml:9:26: services.api.timeouts.connect: "0s" is too short; a duration must be at least 1ms',
  ]);
});

test('a health check timeout longer than its interval', () => {
  assert.deepEqual(issuesIn(withService('    health_check: { interval: 1s, timeout: 1500ms }')), [
    'weir.yaml:6:44: services.api.health_check.timeout: 1500ms is longer than the interval (1s); a check must end before the next one starts',
  ]);
  assert.deepEqual(issuesIn(withService('    health_check: { interval: 1s, timeout: 2s }')), [
    'weir.yaml:6:44: services.api.health_check.timeout: 2s is longer than the interval (1s); a check must end before the next one starts',
  ]);
});

test('the default health check timeout is 2s, or the interval when that is shorter', () => {
  const check = (line: string) => loadConfigText(withService(line), 'weir.yaml').services.get('api')?.healthCheck;
  assert.deepEqual([check('    health_check: {}')?.intervalMs, check('    health_check: {}')?.timeoutMs], [5000, 2000]);
  assert.deepEqual([check('    health_check: { interval: 1s }')?.intervalMs, check('    health_check: { interval: 1s }')?.timeoutMs], [1000, 1000]);
  assert.equal(check('    health_check: { interval: 500ms }')?.timeoutMs, 500);
  assert.equal(check('    health_check: { interval: 2s }')?.timeoutMs, 2000);
  assert.equal(check('    health_check: { interval: 1m }')?.timeoutMs, 2000);
  assert.equal(check('    health_check: { interval: 1s, timeout: 1s }')?.timeoutMs, 1000);
  assert.equal(check('    health_check: { interval: 500ms, timeout: 100ms }')?.timeoutMs, 100);
});

test('unknown service names suggest the closest, or list the services', () => {
  assert.deepEqual(issuesIn(withRoute('  - { path: /a, service: apii }', '  - { path: /b, service: backend }')), [
    'weir.yaml:2:26: routes[0].service: unknown service "apii"; did you mean "api"?',
    'weir.yaml:3:26: routes[1].service: unknown service "backend"; the services are "api"',
  ]);
  assert.deepEqual(issuesIn(yaml('routes:', '  - service: api', 'services: {}')), [
    'weir.yaml:2:14: routes[0].service: unknown service "api"; no services are defined',
  ]);
});

test('routes matching the same requests: the later one is reported and the earlier named', () => {
  const text = withRoute(
    '  - name: first',
    '    service: api',
    '    host: api.example.com',
    '    path: /api',
    '    methods: [GET, POST]',
    '  - service: api',
    '    host: API.example.com',
    '    path: /api',
    '    methods: [post, get]',
    '  - service: api',
    '    host: api.example.com',
    '    path: /api',
    '    methods: [DELETE]',
    '  - service: api',
    '    host: api.example.com',
    '    path_exact: /api',
    '    methods: [GET, POST]',
  );
  assert.deepEqual(issuesIn(text), [
    'weir.yaml:7:5: routes[1]: matches the same requests as routes[0] ("first") (same host, path and methods), so it would never be used',
  ]);
  assert.deepEqual(issuesIn(withRoute('  - service: api', '  - service: api')), [
    'weir.yaml:3:5: routes[1]: matches the same requests as routes[0] (same host, path and methods), so it would never be used',
  ]);
});

test('route names must be unique', () => {
  assert.deepEqual(issuesIn(withRoute('  - { name: api, service: api, path: /a }', '  - { name: api, service: api, path: /b }')), [
    'weir.yaml:3:13: routes[1].name: "api" is already the name of routes[0]',
  ]);
});

test('path matchers: one at most, absolute, regexes that compile', () => {
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    path: /a', '    path_regex: ^/b')), [
    'weir.yaml:4:17: routes[0].path_regex: use only one of path, path_exact and path_regex; this route already has path',
  ]);
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    path: api')), ['weir.yaml:3:11: routes[0].path: "api" must start with "/"']);
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    path_regex: "^/users/([0-9]+$"')), [
    'weir.yaml:3:17: routes[0].path_regex: "^/users/([0-9]+$" is not a valid regular expression: Unterminated group',
  ]);
});

test('strip_prefix: true needs a path, and a string must be a prefix', () => {
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    path_exact: /a', '    strip_prefix: true')), [
    'weir.yaml:4:19: routes[0].strip_prefix: true strips the route\'s path, but this route has no `path`; write the prefix to strip instead, like "/api"',
  ]);
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    strip_prefix: 3')), [
    'weir.yaml:3:19: routes[0].strip_prefix: must be true (strip the route\'s path) or a prefix starting with "/"',
  ]);
});

test('hosts and methods', () => {
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    host: api.example.com:8080', '    methods: [GET, "NOT A METHOD"]')), [
    'weir.yaml:3:11: routes[0].host: "api.example.com:8080": leave the port out; hosts are matched without it',
    'weir.yaml:4:20: routes[0].methods[1]: "NOT A METHOD" is not a valid HTTP method',
  ]);
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    methods: []')), ['weir.yaml:3:14: routes[0].methods: must not be empty']);
});

test('firewall rules: IPs and CIDRs that node can use, absolute paths', () => {
  assert.deepEqual(
    issuesIn(withRoute('  - service: api', '    firewall:', '      ip_reject: [10.0.0.0/8, 10.0.0.0/33, 300.1.1.1, "2001:db8::/129"]', '      path_reject: [admin]')),
    [
      'weir.yaml:4:31: routes[0].firewall.ip_reject[1]: "10.0.0.0/33" has an invalid prefix length; IPv4 allows /0 to /32',
      'weir.yaml:4:44: routes[0].firewall.ip_reject[2]: "300.1.1.1" is not an IP address or CIDR range (like "10.0.0.0/8")',
      'weir.yaml:4:55: routes[0].firewall.ip_reject[3]: "2001:db8::/129" has an invalid prefix length; IPv6 allows /0 to /128',
      'weir.yaml:5:21: routes[0].firewall.path_reject[0]: "admin" must start with "/"',
    ],
  );
});

test('header names must be tokens and values single-line', () => {
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    request_headers:', '      add: { "Bad Name": x, X-Ok: "a\\nb" }', '      remove: ["a:b"]')), [
    'weir.yaml:4:14: routes[0].request_headers.add["Bad Name"]: "Bad Name" is not a valid header name (letters, digits and !#$%&\'*+-.^_`|~ only)',
    'weir.yaml:4:35: routes[0].request_headers.add.X-Ok: must not contain line breaks or NUL characters',
    'weir.yaml:5:16: routes[0].request_headers.remove[0]: "a:b" is not a valid header name (letters, digits and !#$%&\'*+-.^_`|~ only)',
  ]);
});

test('every issue in a file is reported at once, in file order', () => {
  const text = yaml(
    'listen: 127.0.0.1', //           1
    'routes:', //                     2
    '  - service: wbe', //            3
    '    pth: /x', //                 4
    '  - service: api', //            5
    '    path_regex: "("', //         6
    'services:', //                   7
    '  api:', //                      8
    '    servers: [a:1]', //          9
    '    timeouts: { idle: 10 }', // 10
    '  web:', //                     11
    '    servers: [b:0]', //         12
  );
  assert.deepEqual(issuesIn(text), [
    'weir.yaml:1:9: listen: "127.0.0.1" has no port; write HOST:PORT, like "127.0.0.1:8080" or "[::1]:8080"',
    'weir.yaml:3:14: routes[0].service: unknown service "wbe"; did you mean "web"?',
    'weir.yaml:4:5: routes[0].pth: unknown key; did you mean "path"?',
    'weir.yaml:6:17: routes[1].path_regex: "(" is not a valid regular expression: Unterminated group',
    'weir.yaml:10:23: services.api.timeouts.idle: 10 needs a unit: write "10s" for seconds or "10ms" for milliseconds (units: ms, s, m, h)',
    'weir.yaml:12:15: services.web.servers[0]: port 0 is only allowed for listen (where it picks a free port); a server needs its real port',
  ]);
});

test('ConfigError carries the issues as data too', () => {
  try {
    loadConfigText(withRoute('  - service: apii'), 'weir.yaml');
    assert.fail('expected a ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.issues, [
      { file: 'weir.yaml', line: 2, column: 14, path: 'routes[0].service', message: 'unknown service "apii"; did you mean "api"?' },
    ]);
  }
});

// --- YAML itself ---

test('duplicate YAML keys point at the second and name the line of the first', () => {
  assert.deepEqual(issuesIn(withService('    balance: random', '    balance: round_robin')), [
    'weir.yaml:7:5: services.api.balance: duplicate key; the first one is on line 6',
  ]);
});

test('YAML syntax errors keep their position', () => {
  assert.deepEqual(issuesIn(yaml('routes: [', 'services: {}')), [
    'weir.yaml:2:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ]);
  assert.deepEqual(issuesIn(yaml('listen: "127.0.0.1:8080', 'routes: []')), ['weir.yaml:3:1: YAML syntax error: Missing closing "quote']);
  assert.deepEqual(issuesIn(yaml('routes: []', '---', 'services: {}')), [
    'weir.yaml:2:1: the file holds more than one YAML document ("---"); weir reads exactly one',
  ]);
  assert.deepEqual(issuesIn(withRoute('  - service: *name')), ['weir.yaml:2:14: routes[0].service: unknown alias *name; the anchor &name must come before it']);
});

test('a mapping or a list used as a key is an issue at that key, and nothing is printed', async () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  try {
    assert.deepEqual(issuesIn(yaml('routes:', '  - service: api', 'services:', '  {a: 1}: x', '  api:', '    servers: [127.0.0.1:8081]')), [
      'weir.yaml:4:3: services: a key must be plain text, not a mapping',
    ]);
    // After the first key of a block mapping, the yaml library's own reading is a syntax error; the key's issue replaces it.
    assert.deepEqual(issuesIn(withService('    [a, b]: 1')), ['weir.yaml:6:5: services.api: a key must be plain text, not a list']);
    assert.deepEqual(issuesIn(withService('  {a: 1}: x')), ['weir.yaml:6:3: services: a key must be plain text, not a mapping']);
    assert.deepEqual(issuesIn(withRoute('  - service: api', '    ? - x', '      - y', '    : z')), ['weir.yaml:3:7: routes[0]: a key must be plain text, not a list']);
    assert.deepEqual(issuesIn(yaml('routes:', '  - { service: api, {x: 1}: y }', 'services:', '  api: { servers: [127.0.0.1:8081] }')), [
      'weir.yaml:2:21: routes[0]: a key must be plain text, not a mapping',
    ]);
    assert.deepEqual(issuesIn(yaml('base: &base { a: 1 }', '*base : x', ...withService().trimEnd().split('\n'))), [
      'weir.yaml:2:1: a key must be plain text, not a mapping',
    ]);
    assert.deepEqual(issuesIn(yaml('[a]: x', '{b: 1}: y')), [
      'weir.yaml:1:1: a key must be plain text, not a list',
      'weir.yaml:2:1: a key must be plain text, not a mapping',
    ]);
    // process.emitWarning emits on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings.map((warning) => warning.message), []);
  } finally {
    process.off('warning', onWarning);
  }
});

test('anchors and aliases are followed, and positions still found', () => {
  const text = yaml(
    'routes:',
    '  - service: api',
    'services:',
    '  api:',
    '    servers: [127.0.0.1:8081]',
    '    timeouts: &slow { connect: 5 }',
    '  web:',
    '    servers: [127.0.0.1:8082]',
    '    timeouts: *slow',
  );
  assert.deepEqual(issuesIn(text), [
    'weir.yaml:6:32: services.api.timeouts.connect: 5 needs a unit: write "5s" for seconds or "5ms" for milliseconds (units: ms, s, m, h)',
    'weir.yaml:6:32: services.web.timeouts.connect: 5 needs a unit: write "5s" for seconds or "5ms" for milliseconds (units: ms, s, m, h)',
  ]);
});

test('an empty file, a list or a scalar is not a config', () => {
  assert.deepEqual(issuesIn(''), ["weir.yaml:1:1: the config is empty; it needs routes and services (or the course form's hosts and paths)"]);
  assert.deepEqual(issuesIn('# only a comment\n'), ["weir.yaml:1:1: the config is empty; it needs routes and services (or the course form's hosts and paths)"]);
  assert.deepEqual(issuesIn('- a\n'), ['weir.yaml:1:1: the config must be a mapping with routes and services, not a list']);
  assert.deepEqual(issuesIn('hello\n'), ['weir.yaml:1:1: the config must be a mapping with routes and services, not a single value']);
});

// --- Objects (the library API) and files ---

test('objects load in either form', () => {
  const weir = loadConfigObject({ routes: [{ service: 'api', path: '/x', strip_prefix: true }], services: { api: { servers: ['127.0.0.1:8081'] } } });
  assert.equal(weir.source, '<object>');
  assert.equal(weir.form, 'weir');
  assert.equal(weir.routes[0]?.stripPrefix, '/x');

  const course = loadConfigObject({ paths: [{ path: '/mango', servers: ['localhost:8081'] }] }, 'options.config');
  assert.equal(course.source, 'options.config');
  assert.equal(course.form, 'course');
  assert.deepEqual(course.routes[0]?.path, { kind: 'prefix', value: '/mango' });
});

test('issues in objects have no position', () => {
  const value = { routes: [{ service: 'apii', hots: 'a.com' }], services: { api: { servers: ['a:1'], timeouts: { idle: 60 } } } };
  assert.deepEqual(issuesInObject(value), [
    '<object>: routes[0].hots: unknown key; did you mean "host"?',
    '<object>: services.api.timeouts.idle: 60 needs a unit: write "60s" for seconds or "60ms" for milliseconds (units: ms, s, m, h)',
    '<object>: routes[0].service: unknown service "apii"; did you mean "api"?',
  ]);
  assert.deepEqual(issuesInObject(undefined, 'options.config'), [
    "options.config: the config is empty; it needs routes and services (or the course form's hosts and paths)",
  ]);
  try {
    loadConfigObject({ routes: 'none', services: {} });
    assert.fail('expected a ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.issues, [{ file: '<object>', line: 0, column: 0, path: 'routes', message: 'must be a list, not "none"' }]);
  }
});

test('files: read, and unreadable ones reported as a ConfigError', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'weir-config-'));
  t.after(() => rm(dir, { recursive: true }));
  const file = join(dir, 'weir.yaml');
  await writeFile(file, withService());
  assert.equal((await loadConfigFile(file)).source, file);

  await writeFile(file, withRoute('  - service: apii'));
  await assert.rejects(loadConfigFile(file), { name: 'ConfigError', message: `${file}:2:14: routes[0].service: unknown service "apii"; did you mean "api"?` });

  const missing = join(dir, 'missing.yaml');
  await assert.rejects(loadConfigFile(missing), { name: 'ConfigError', message: `${missing}: cannot read the file: no such file` });
  await assert.rejects(loadConfigFile(dir), { name: 'ConfigError', message: `${dir}: cannot read the file: it is a directory` });
});
