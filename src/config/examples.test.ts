// The example files in examples/ load, and mean what their comments say.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, summarizeConfig } from './load.ts';
import { defaultHealthCheck, defaultTimeouts, noRules, server, serviceDefaults } from './expected.fixtures.ts';
import type { ServiceConfig } from './types.ts';

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));


test("the course's example translates into routes with a service each", async () => {
  const config = await loadConfigFile(example('course-loadbalancer.yaml'));
  assert.equal(config.form, 'course');
  assert.equal(config.source, example('course-loadbalancer.yaml'));
  assert.deepEqual(config.listen, { host: '127.0.0.1', port: 8080 });

  assert.deepEqual(config.routes, [
    {
      ...noRules,
      name: 'host www.mango.com',
      host: 'www.mango.com',
      requestHeaders: { add: [['MyCustomHeader', 'Test']], set: [], remove: ['host'] },
      query: { add: [['MyCustomParam', 'Test']], set: [], remove: ['RemoveMe'] },
      rewrite: { replace: [['v1', 'v2']], addPrefix: '' },
      firewall: { ipAllow: [], ipReject: ['10.192.0.1', '10.192.0.2'], pathReject: [] },
      action: { kind: 'forward', service: 'host www.mango.com' },
    },
    {
      ...noRules,
      name: 'host www.apple.com',
      host: 'www.apple.com',
      requestHeaders: { add: [], set: [], remove: ['host'] },
      firewall: { ipAllow: [], ipReject: [], pathReject: [{ kind: 'prefix', value: '/messages' }, { kind: 'prefix', value: '/apps' }] },
      action: { kind: 'forward', service: 'host www.apple.com' },
    },
    { ...noRules, name: 'host www.orange.com', host: 'www.orange.com', action: { kind: 'forward', service: 'host www.orange.com' } },
    // A paths entry forwards the rest of the path: /mango/x reaches the backend as /x.
    { ...noRules, name: 'path /mango', path: { kind: 'prefix', value: '/mango' }, stripPrefix: '/mango', action: { kind: 'forward', service: 'path /mango' } },
    { ...noRules, name: 'path /apple', path: { kind: 'prefix', value: '/apple' }, stripPrefix: '/apple', action: { kind: 'forward', service: 'path /apple' } },
    { ...noRules, name: 'path /orange', path: { kind: 'prefix', value: '/orange' }, stripPrefix: '/orange', action: { kind: 'forward', service: 'path /orange' } },
  ]);

  const courseService = (name: string, ports: number[]): [string, ServiceConfig] => [
    name,
    {
      ...serviceDefaults,
      name,
      servers: ports.map((port) => server('localhost', port)),
      balance: 'least_connections',
      healthCheck: defaultHealthCheck,
      timeouts: defaultTimeouts,
    },
  ];
  assert.deepEqual(
    config.services,
    new Map([
      courseService('host www.mango.com', [8081, 8082]),
      courseService('host www.apple.com', [9081, 9082, 8888]),
      courseService('host www.orange.com', [1111, 1212]),
      courseService('path /mango', [8081, 8082]),
      courseService('path /apple', [9081, 9082, 8888]),
      courseService('path /orange', [1111, 1212]),
    ]),
  );
  assert.equal(summarizeConfig(config), 'valid config (course form): 6 routes, 6 services, 14 servers, listen 127.0.0.1:8080');
});

test("weir's example uses every key, with the meanings its comments give", async () => {
  const config = await loadConfigFile(example('weir.yaml'));
  assert.equal(config.form, 'weir');
  assert.deepEqual(config.listen, { host: '127.0.0.1', port: 8080 });

  assert.deepEqual(config.routes, [
    {
      name: 'api',
      host: 'api.example.com',
      path: { kind: 'prefix', value: '/api' },
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      stripPrefix: '/api',
      requestHeaders: { add: [['X-Env', 'prod']], set: [], remove: ['cookie'] },
      query: { add: [['source', 'weir']], set: [], remove: ['debug'] },
      rewrite: { replace: [['/v1/', '/v2/']], addPrefix: '' },
      firewall: { ipAllow: [], ipReject: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'], pathReject: [{ kind: 'prefix', value: '/api/admin' }] },
      action: { kind: 'forward', service: 'api' },
      responseHeaders: { add: [], set: [], remove: [] },
      rateLimits: [],
      httpsRedirect: false,
      timeouts: { responseHeadersMs: 120_000 },
      retryNonIdempotent: false,
    },
    { ...noRules, name: 'status', host: 'api.example.com', path: { kind: 'exact', value: '/status' }, methods: ['GET'], action: { kind: 'forward', service: 'api' } },
    { ...noRules, name: 'users', host: '*.example.com', path: { kind: 'regex', value: '^/users/[0-9]+$' }, action: { kind: 'forward', service: 'web' } },
    { ...noRules, name: 'static', path: { kind: 'prefix', value: '/static' }, stripPrefix: '/static', action: { kind: 'forward', service: 'static' } },
    { ...noRules, name: 'site', action: { kind: 'forward', service: 'web' } },
  ]);

  assert.deepEqual(
    config.services,
    new Map<string, ServiceConfig>([
      [
        'api',
        {
          name: 'api',
          servers: [server('127.0.0.1', 8081), server('localhost', 8082, 2), server('::1', 8083, 1, true)],
          balance: 'least_connections',
          protocol: 'http1',
          hashKey: { kind: 'client_ip' },
          healthCheck: {
            type: 'http',
            method: 'GET',
            host: 'api.internal',
            expectedBody: 'ok',
            path: '/healthcheck',
            intervalMs: 5000,
            timeoutMs: 2000,
            healthyThreshold: 2,
            unhealthyThreshold: 3,
            expectedStatuses: [
              [200, 299],
              [304, 304],
            ],
          },
          passiveHealth: { consecutiveFailures: 5, baseEjectionMs: 10_000, maxEjectionMs: 300_000, maxEjectedPercent: 50 },
          panicThresholdPercent: 30,
          slowStartMs: 30_000,
          retries: { attempts: 2, onStatuses: [502, 503], budgetPercent: 20, minRetriesPerSecond: 10 },
          maxConnections: 200,
          queue: { size: 100, timeoutMs: 5000 },
          timeouts: { connectMs: 500, responseHeadersMs: 30_000, idleMs: 60_000 },
        },
      ],
      [
        'web',
        {
          ...serviceDefaults,
          name: 'web',
          servers: [server('127.0.0.1', 9081), server('127.0.0.1', 9082)],
          balance: 'weighted_round_robin',
          sticky: { cookie: 'weir_web' },
          healthCheck: defaultHealthCheck,
          timeouts: defaultTimeouts,
        },
      ],
      [
        'static',
        {
          name: 'static',
          servers: [server('127.0.0.1', 9090), server('127.0.0.1', 9091)],
          balance: 'consistent_hash',
          hashKey: { kind: 'path' },
          panicThresholdPercent: 0,
          slowStartMs: 0,
          retries: serviceDefaults.retries,
          queue: serviceDefaults.queue,
          timeouts: defaultTimeouts,
          protocol: 'http1',
        },
      ],
    ]),
  );
  assert.equal(summarizeConfig(config), 'valid weir config: 5 routes, 3 services, 7 servers, listen 127.0.0.1:8080');
});

test('the rules example loads and uses every rule', async () => {
  const config = await loadConfigFile(example('rules.yaml'));
  assert.deepEqual(config.trustedProxies, ['10.0.0.0/8']);
  assert.equal(config.defaults.rateLimits.length, 1);
  assert.deepEqual(
    config.routes.map((route) => route.action.kind),
    ['forward', 'redirect', 'respond', 'forward', 'forward', 'forward'],
  );
  const api = config.routes.find((route) => route.name === 'routes[3]: path /api');
  assert.deepEqual(api?.rateLimits[0]?.store, { kind: 'redis', url: 'redis://127.0.0.1:6379' });
  assert.deepEqual(api?.firewall.methods, ['GET', 'POST', 'PUT', 'DELETE']);
  assert.equal(config.routes[0]?.canonicalHost, 'www.example.com');
  assert.equal(config.routes[4]?.rewrite.regex?.to, '/new/$1');
});
