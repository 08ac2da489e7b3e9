// The keys of backend pools (servers with weights, balancing, passive
// health, retries, limits) as written in weir.yaml.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigObject } from './load.ts';
import { ConfigError } from './types.ts';

const withService = (service: Record<string, unknown>) => ({
  routes: [{ path: '/', service: 'api' }],
  services: { api: { servers: ['127.0.0.1:8081'], ...service } },
});

function issuesIn(service: Record<string, unknown>): string[] {
  try {
    loadConfigObject(withService(service));
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  assert.fail('the config loaded, but issues were expected');
}

test('a server is HOST:PORT or { address, weight, backup }', () => {
  const config = loadConfigObject(withService({ servers: ['127.0.0.1:8081', { address: '127.0.0.1:8082', weight: 3 }, { address: '127.0.0.1:8083', backup: true }] }));
  assert.deepEqual(config.services.get('api')?.servers, [
    { address: { host: '127.0.0.1', port: 8081 }, tls: false, weight: 1, backup: false },
    { address: { host: '127.0.0.1', port: 8082 }, tls: false, weight: 3, backup: false },
    { address: { host: '127.0.0.1', port: 8083 }, tls: false, weight: 1, backup: true },
  ]);
  assert.deepEqual(issuesIn({ servers: [{ address: '127.0.0.1:0', weight: -1, bakup: true }] }), [
    'services.api.servers[0].address: port 0 is only allowed for listen (where it picks a free port); a server needs its real port',
    'services.api.servers[0].weight: must be at least 0',
    'services.api.servers[0].bakup: unknown key; did you mean "backup"?',
  ]);
  assert.deepEqual(issuesIn({ servers: [8081] }), ['services.api.servers[0]: must be "HOST:PORT", "https://HOST:PORT" or a mapping like { address: "HOST:PORT", weight: 2 }']);
});

test('hash_key takes client_ip, path, header:NAME or cookie:NAME', () => {
  const key = (hash_key: string) => loadConfigObject(withService({ balance: 'consistent_hash', hash_key })).services.get('api')?.hashKey;
  assert.deepEqual(key('client_ip'), { kind: 'client_ip' });
  assert.deepEqual(key('path'), { kind: 'path' });
  assert.deepEqual(key('header:X-User'), { kind: 'header', name: 'x-user' });
  assert.deepEqual(key('cookie:session'), { kind: 'cookie', name: 'session' });
  assert.deepEqual(issuesIn({ hash_key: 'user' }), ['services.api.hash_key: "user" is not a hash key; use client_ip, path, header:NAME or cookie:NAME']);
});

test('passive health is on by default, false turns it off, and percentages are checked', () => {
  assert.equal(loadConfigObject(withService({ passive_health: false })).services.get('api')?.passiveHealth, undefined);
  const given = loadConfigObject(withService({ passive_health: { consecutive_failures: 3, base_ejection: '2s', max_ejected_percent: '30%' } }));
  assert.deepEqual(given.services.get('api')?.passiveHealth, { consecutiveFailures: 3, baseEjectionMs: 2000, maxEjectionMs: 300_000, maxEjectedPercent: 30 });
  assert.deepEqual(issuesIn({ passive_health: { max_ejected_percent: 150 } }), ['services.api.passive_health.max_ejected_percent: must be between 0 and 100']);
});

test('retries, limits, slow start and panic threshold', () => {
  const service = loadConfigObject(
    withService({ retries: { attempts: 1, on_statuses: [502] }, max_connections: 10, queue: { size: 5, timeout: '1s' }, slow_start: '20s', panic_threshold: 40 }),
  ).services.get('api');
  assert.deepEqual(service?.retries, { attempts: 1, onStatuses: [502], budgetPercent: 20, minRetriesPerSecond: 10 });
  assert.equal(service?.maxConnections, 10);
  assert.deepEqual(service?.queue, { size: 5, timeoutMs: 1000 });
  assert.equal(service?.slowStartMs, 20_000);
  assert.equal(service?.panicThresholdPercent, 40);
  assert.deepEqual(issuesIn({ retries: { on_statuses: [404] }, max_connections: 0 }), [
    'services.api.retries.on_statuses[0]: must be at least 500',
    'services.api.max_connections: must be at least 1',
  ]);
});

test('health checks: tcp, method, host and expected body', () => {
  const check = loadConfigObject(withService({ health_check: { type: 'tcp' } })).services.get('api')?.healthCheck;
  assert.equal(check?.type, 'tcp');
  const http = loadConfigObject(withService({ health_check: { method: 'head', host: 'app.internal', expected_body: 'ok' } })).services.get('api')?.healthCheck;
  assert.equal(http?.method, 'HEAD');
  assert.equal(http?.host, 'app.internal');
  assert.equal(http?.expectedBody, 'ok');
});
