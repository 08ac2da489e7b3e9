// The keys of weir's own log, the access log and the admin API: defaults,
// given values, and mistakes at their position.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderJsonSchema } from './json-schema.ts';
import { loadConfigObject, loadConfigText } from './load.ts';
import { isLoopbackHost } from './loopback.ts';
import { issuesIn, yaml } from './issues.fixtures.ts';

const service = yaml('routes:', '  - service: api', 'services:', '  api:', '    servers: [127.0.0.1:8081]');
const load = (...top: string[]) => loadConfigText(`${yaml(...top)}${service}`, 'weir.yaml');
const issues = (...top: string[]) => issuesIn(`${yaml(...top)}${service}`);

test('log, access_log and admin: absent means info, no access log, no admin listener', () => {
  const config = load();
  assert.deepEqual(config.log, { level: 'info' });
  assert.equal('accessLog' in config, false);
  assert.equal('admin' in config, false);
});

test('{} gives every default', () => {
  const config = load('log: {}', 'access_log: {}', 'admin: {}');
  assert.deepEqual(config.log, { level: 'info' });
  assert.deepEqual(config.accessLog, { path: 'stdout', minStatus: 0, sample: 1 });
  // No token on loopback: the key is absent, not undefined.
  assert.deepEqual(config.admin, { listen: { host: '127.0.0.1', port: 9901 } });
  assert.equal('token' in config.admin!, false);
});

test('given values replace the defaults', () => {
  const config = load(
    'log: { level: debug }',
    'access_log:',
    '  path: /var/log/weir/access.log',
    '  min_status: 400',
    '  sample: 0.25',
    'admin:',
    '  listen: 0.0.0.0:9000',
    '  token: s3cret',
  );
  assert.deepEqual(config.log, { level: 'debug' });
  assert.deepEqual(config.accessLog, { path: '/var/log/weir/access.log', minStatus: 400, sample: 0.25 });
  assert.deepEqual(config.admin, { listen: { host: '0.0.0.0', port: 9000 }, token: 's3cret' });
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']) assert.equal(load(`log: { level: ${level} }`).log.level, level);
  assert.equal(load('access_log: { path: stderr, sample: 0 }').accessLog?.sample, 0);
  assert.equal(load('access_log: { sample: 1 }').accessLog?.sample, 1);
});

test('log and access_log: wrong values at their position, with their key path', () => {
  assert.deepEqual(issues('log:', '  level: wran'), [
    'weir.yaml:2:10: log.level: "wran" is not one of "trace", "debug", "info", "warn", "error", "fatal", "silent"; did you mean "warn"?',
  ]);
  assert.deepEqual(issues('log: { levl: info }'), ['weir.yaml:1:8: log.levl: unknown key; did you mean "level"?']);
  assert.deepEqual(issues('access_log:', '  path: ""', '  min_status: 600', '  sample: 1.5', '  samples: 1'), [
    'weir.yaml:2:9: access_log.path: must not be empty',
    'weir.yaml:3:15: access_log.min_status: must be at most 599',
    'weir.yaml:4:11: access_log.sample: must be between 0 and 1',
    'weir.yaml:5:3: access_log.samples: unknown key; did you mean "sample"?',
  ]);
  assert.deepEqual(issues('access_log: { min_status: 4.5, sample: -0.1 }'), [
    'weir.yaml:1:27: access_log.min_status: must be a whole number, not 4.5',
    'weir.yaml:1:40: access_log.sample: must be between 0 and 1',
  ]);
  assert.deepEqual(issues('access_log: { sample: "10%" }'), ['weir.yaml:1:23: access_log.sample: must be a number, not "10%"']);
  assert.deepEqual(issues('access_log: stdout'), ['weir.yaml:1:13: access_log: must be a mapping, not "stdout"']);
  assert.deepEqual(issues('access_log:'), ['weir.yaml:1:1: access_log: is empty; expected a mapping (write {} for an empty one)']);
});

test('admin: a token is required when listen is not a loopback address', () => {
  assert.deepEqual(issues('admin:', '  listen: 0.0.0.0:9901'), [
    'weir.yaml:1:1: admin.token: is required when listen is not a loopback address (0.0.0.0:9901 can be reached from other machines); set a token, or listen on 127.0.0.1',
  ]);
  assert.deepEqual(issues('routes_before: 1', 'admin: { listen: "[::]:9901" }').slice(-1), [
    'weir.yaml:2:1: admin.token: is required when listen is not a loopback address ([::]:9901 can be reached from other machines); set a token, or listen on 127.0.0.1',
  ]);
  assert.deepEqual(issues('admin: { listen: 10.0.0.5:9901, token: "" }'), ['weir.yaml:1:40: admin.token: must not be empty']);
  // Loopback in every spelling needs none.
  for (const listen of ['127.0.0.1:9901', '127.3.2.1:1', '"[::1]:9901"', 'localhost:9901', 'LocalHost:0']) {
    assert.equal(load(`admin: { listen: ${listen} }`).admin?.token, undefined, listen);
  }
  // And anywhere with one.
  assert.deepEqual(load('admin: { listen: "[2001:db8::1]:9901", token: t }').admin, { listen: { host: '2001:db8::1', port: 9901 }, token: 't' });
});

test('admin: a bad listen address, and one that is weir\'s own', () => {
  assert.deepEqual(issues('admin: { listen: 9901 }'), ['weir.yaml:1:18: admin.listen: 9901 is only a port; write HOST:PORT, like "127.0.0.1:9901"']);
  assert.deepEqual(issues('admin: { listen: 127.0.0.1:8080 }'), [
    'weir.yaml:1:18: admin.listen: 127.0.0.1:8080 is also weir\'s listen address; give the admin API a port of its own',
  ]);
  // Port 0 twice is two free ports.
  assert.equal(load('listen: 127.0.0.1:0', 'admin: { listen: 127.0.0.1:0 }').admin?.listen.port, 0);
  assert.deepEqual(issues('admin: { listn: 127.0.0.1:9901 }'), ['weir.yaml:1:10: admin.listn: unknown key; did you mean "listen"?']);
});

test('objects are checked the same way, without positions', () => {
  const object = { routes: [{ service: 'api' }], services: { api: { servers: ['127.0.0.1:8081'] } } };
  assert.throws(() => loadConfigObject({ ...object, admin: { listen: '0.0.0.0:9901' } }), /<object>: admin\.token: is required when listen is not a loopback address/);
  assert.deepEqual(loadConfigObject({ ...object, access_log: { min_status: 500 } }).accessLog, { path: 'stdout', minStatus: 500, sample: 1 });
});

test("the course's form gets the defaults: info, no access log, no admin", () => {
  const config = loadConfigText(yaml('paths:', '  - path: /mango', '    servers: [localhost:8081]'), 'course.yaml');
  assert.deepEqual(config.log, { level: 'info' });
  assert.equal(config.accessLog, undefined);
  assert.equal(config.admin, undefined);
  assert.deepEqual(issuesIn(yaml('paths:', '  - path: /mango', '    servers: [localhost:8081]', 'access_log: {}'), 'course.yaml'), [
    'course.yaml:4:1: access_log: unknown key',
  ]);
});

test('loopback hosts: 127.0.0.0/8, ::1 in any spelling, localhost', () => {
  for (const host of ['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) assert.equal(isLoopbackHost(host), true, host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', 'example.com', 'localhost.example.com', '::2']) assert.equal(isLoopbackHost(host), false, host);
});

test('the JSON Schema describes log, access_log and admin with their defaults', () => {
  const { log, access_log: accessLog, admin } = JSON.parse(renderJsonSchema()).properties;
  assert.deepEqual(log.properties.level.enum, ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
  assert.equal(log.properties.level.default, 'info');
  assert.deepEqual(
    Object.fromEntries(Object.entries(accessLog.properties).map(([key, value]) => [key, (value as { default: unknown }).default])),
    { path: 'stdout', min_status: 0, sample: 1 },
  );
  assert.equal(admin.properties.listen.default, '127.0.0.1:9901');
  for (const section of [log, accessLog, admin]) {
    assert.equal(section.additionalProperties, false);
    assert.ok(section.description);
    for (const [key, property] of Object.entries(section.properties)) assert.ok((property as { description?: string }).description, `${key} has a description`);
  }
});
