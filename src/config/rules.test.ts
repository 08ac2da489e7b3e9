// The traffic rule keys: what they load into, and what is refused with which message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from './load.ts';
import { issuesIn, yaml } from './issues.fixtures.ts';

const services = ['services:', '  api:', '    servers: [127.0.0.1:8081]'];
const withRoute = (...route: string[]) => yaml('routes:', ...route, ...services);

test('header, query and rewrite rules load in order, with variables kept as templates', () => {
  const config = loadConfigText(
    withRoute(
      '  - path: /api',
      '    service: api',
      '    request_headers: { set: { X-Env: prod }, add: { X-Client: "${client_ip}" }, remove: [Cookie] }',
      '    response_headers: { set: { X-Frame-Options: DENY }, remove: [Server] }',
      '    query: { set: { page: 1 }, add: { via: weir }, remove: [utm] }',
      '    rewrite: { strip_prefix: true, replace: { /v1/: /v2/ }, regex: "^/old/(.*)", to: "/new/$1", add_prefix: /backend }',
    ),
    'weir.yaml',
  );
  const [route] = config.routes;
  assert.deepEqual(route?.requestHeaders, { set: [['X-Env', 'prod']], add: [['X-Client', '${client_ip}']], remove: ['cookie'] });
  assert.deepEqual(route?.responseHeaders, { set: [['X-Frame-Options', 'DENY']], add: [], remove: ['server'] });
  assert.deepEqual(route?.query, { set: [['page', '1']], add: [['via', 'weir']], remove: ['utm'] });
  assert.equal(route?.stripPrefix, '/api');
  assert.deepEqual(route?.rewrite, { replace: [['/v1/', '/v2/']], regex: { pattern: '^/old/(.*)', to: '/new/$1' }, addPrefix: '/backend' });
});

test('redirect, respond, https_redirect and canonical_host', () => {
  const config = loadConfigText(
    withRoute(
      '  - host: old.example.com',
      '    redirect: { to: "https://new.example.com${request_uri}", status: 301 }',
      '  - path: /down',
      '    respond: { status: 503, body: Back soon, headers: { Retry-After: 60 } }',
      '  - host: example.com',
      '    https_redirect: true',
      '    canonical_host: www.example.com',
      '    service: api',
    ),
    'weir.yaml',
  );
  const [redirect, respond, forward] = config.routes;
  assert.deepEqual(redirect?.action, { kind: 'redirect', status: 301, to: 'https://new.example.com${request_uri}' });
  assert.deepEqual(respond?.action, { kind: 'respond', status: 503, body: 'Back soon', headers: [['Retry-After', '60']] });
  assert.deepEqual(forward?.action, { kind: 'forward', service: 'api' });
  assert.equal(forward?.httpsRedirect, true);
  assert.equal(forward?.canonicalHost, 'www.example.com');
  assert.equal(loadConfigText(withRoute('  - redirect: { to: /x }'), 'weir.yaml').routes[0]?.action.kind, 'redirect');
});

test('a redirect status other than 301, 302, 307 or 308 names the ones allowed', () => {
  assert.deepEqual(issuesIn(withRoute('  - redirect: { to: /x, status: 303 }')), ['weir.yaml:2:33: routes[0].redirect.status: must be 301, 302, 307 or 308, not 303']);
  assert.deepEqual(issuesIn(withRoute('  - redirect:', '      to: /x', '      status: "301"')), [
    'weir.yaml:4:15: routes[0].redirect.status: must be 301, 302, 307 or 308, not "301"',
  ]);
  for (const status of [301, 302, 307, 308]) {
    assert.deepEqual(loadConfigText(withRoute(`  - redirect: { to: /x, status: ${status} }`), 'weir.yaml').routes[0]?.action, { kind: 'redirect', status, to: '/x' });
  }
});

test('firewall: addresses, path rules of three kinds, methods and sizes', () => {
  const config = loadConfigText(
    withRoute(
      '  - service: api',
      '    firewall:',
      '      ip_allow: [10.0.0.0/8, "::1"]',
      '      ip_reject: [10.9.0.0/16]',
      '      path_reject: [/admin, "/**/*.php", { regex: "\\\\.env$" }]',
      '      methods: [get, POST]',
      '      max_url_length: 2048',
      '      max_header_size: 8k',
      '      max_body_size: 1.5m',
    ),
    'weir.yaml',
  );
  assert.deepEqual(config.routes[0]?.firewall, {
    ipAllow: ['10.0.0.0/8', '::1'],
    ipReject: ['10.9.0.0/16'],
    pathReject: [
      { kind: 'prefix', value: '/admin' },
      { kind: 'glob', value: '/**/*.php' },
      { kind: 'regex', value: '\\.env$' },
    ],
    methods: ['GET', 'POST'],
    maxUrlLength: 2048,
    maxHeaderBytes: 8192,
    maxBodyBytes: 1_572_864,
  });
});

test('rate limits: rate units, default burst, keys, store; one or a list', () => {
  const config = loadConfigText(
    yaml(
      'defaults:',
      '  rate_limit: { rate: 6000/m }',
      'routes:',
      '  - service: api',
      '    rate_limit:',
      '      - { key: [client_ip, "header:X-Api-Key"], rate: 10/s, burst: 20, store: "redis://127.0.0.1:6379", on_store_error: deny }',
      '      - { key: route, rate: 1000/h }',
      ...services,
    ),
    'weir.yaml',
  );
  assert.deepEqual(config.defaults.rateLimits, [
    { id: 'defaults.rate_limit', key: [{ kind: 'client_ip' }], ratePerSecond: 100, rateText: '6000/m', windowSeconds: 60, burst: 100, store: { kind: 'local' }, onStoreError: 'allow' },
  ]);
  const [first, second] = config.routes[0]?.rateLimits ?? [];
  assert.deepEqual(first, {
    id: 'routes[0].rate_limit[0]',
    key: [{ kind: 'client_ip' }, { kind: 'header', name: 'x-api-key' }],
    ratePerSecond: 10,
    rateText: '10/s',
    windowSeconds: 1,
    burst: 20,
    store: { kind: 'redis', url: 'redis://127.0.0.1:6379' },
    onStoreError: 'deny',
  });
  assert.equal(second?.burst, 1, 'a slow rate still allows one request at once');
  assert.deepEqual(second?.key, [{ kind: 'route' }]);
});

test('top level: trusted_proxies, proxy_protocol, request_id', () => {
  const config = loadConfigText(yaml('trusted_proxies: [10.0.0.0/8]', 'proxy_protocol: true', 'request_id: { header: X-Trace-Id }', 'routes:', '  - service: api', ...services), 'weir.yaml');
  assert.deepEqual(config.trustedProxies, ['10.0.0.0/8']);
  assert.equal(config.proxyProtocol, true);
  assert.equal(config.requestIdHeader, 'X-Trace-Id');
  assert.equal(loadConfigText(yaml('request_id: false', 'routes:', '  - service: api', ...services), 'weir.yaml').requestIdHeader, undefined);
});

test('mistakes in rules are named with file, line, column and key', () => {
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    request_headers: { set: { X-A: "${clientip}" } }')), [
    'weir.yaml:3:36: routes[0].request_headers.set.X-A: unknown variable ${clientip}; the variables are ${client_ip}, ${remote_addr}, ${host}, ${path}, ${query}, ${request_uri}, ${method}, ${scheme}, ${request_id}, ${route}',
  ]);
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    response_headers: { add: { X-A: "a\\r\\nb" } }')), [
    'weir.yaml:3:37: routes[0].response_headers.add.X-A: must not contain line breaks or NUL characters',
  ]);
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    rate_limit: { rate: 10 per second, store: "mysql://x" }')), [
    'weir.yaml:3:25: routes[0].rate_limit.rate: "10 per second" is not a rate; write requests per unit, like "100/s", "6000/m" or "50000/h"',
    'weir.yaml:3:47: routes[0].rate_limit.store: "mysql://x" is not a store; use local or a Redis URL like "redis://127.0.0.1:6379"',
  ]);
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    rate_limit: { rate: 1/s, key: cookie:x }')), [
    'weir.yaml:3:35: routes[0].rate_limit.key: "cookie:x" is not a rate limit key; use client_ip, route or header:NAME',
  ]);
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    firewall: { max_body_size: 10 megs }')), [
    'weir.yaml:3:32: routes[0].firewall.max_body_size: "10 megs" is not a size; write bytes (8192) or a number with k, m or g ("8k", "10m")',
  ]);
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    rewrite: { regex: "^/a" }')), ['weir.yaml:3:23: routes[0].rewrite.regex: needs `to`, the path a match becomes']);
});

test('a route does one thing: forward, redirect or respond', () => {
  assert.deepEqual(issuesIn(withRoute('  - path: /a')), ['weir.yaml:2:5: routes[0]: needs one of service, redirect or respond: what to do with the requests it matches']);
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    respond: { body: hi }')), [
    'weir.yaml:3:14: routes[0].respond: use only one of service, redirect and respond; this route already has service',
  ]);
  assert.deepEqual(issuesIn(withRoute('  - redirect: { to: /x }', '    https_redirect: true')), [
    'weir.yaml:3:21: routes[0].https_redirect: this route already redirects every request with `redirect`',
  ]);
  assert.deepEqual(issuesIn(withRoute('  - service: api', '    canonical_host: "*.example.com"')), ['weir.yaml:3:21: routes[0].canonical_host: must be one host, not a wildcard']);
});

test('proxy_protocol needs trusted_proxies', () => {
  assert.deepEqual(issuesIn(yaml('proxy_protocol: true', 'routes:', '  - service: api', ...services)), [
    'weir.yaml:1:17: proxy_protocol: needs trusted_proxies: the addresses of the proxies that send the PROXY header',
  ]);
});
