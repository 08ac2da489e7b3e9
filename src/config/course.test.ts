// The course's form: how its entries translate, and its mistakes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from './load.ts';
import { defaultClientTimeouts, defaultLimits } from './expected.fixtures.ts';
import { issuesIn as issuesInFile, yaml } from './issues.fixtures.ts';

const issuesIn = (text: string): string[] => issuesInFile(text, 'course.yaml');

test('a file with only paths is the course form too', () => {
  const config = loadConfigText(yaml('paths:', '  - path: /mango', '    servers: [localhost:8081]'), 'course.yaml');
  assert.equal(config.form, 'course');
  assert.deepEqual(
    config.routes.map((route) => [route.name, route.path, route.stripPrefix, route.action]),
    [['path /mango', { kind: 'prefix', value: '/mango' }, '/mango', { kind: 'forward', service: 'path /mango' }]],
  );
  assert.deepEqual(config.listen, { host: '127.0.0.1', port: 8080 });
  // The course has no limits or client timeouts of its own: weir's defaults.
  assert.deepEqual(config.limits, defaultLimits);
  assert.deepEqual(config.clientTimeouts, defaultClientTimeouts);
});

test('hosts are lower-cased; rule maps translate, remove maps by their keys only', () => {
  const config = loadConfigText(
    yaml(
      'hosts:',
      '  - host: WWW.Mango.com',
      '    servers: [localhost:8081]',
      '    header_rules:',
      '      add: { X-A: "1", X-B: 2 }',
      '      remove: { Host: www.mango.com, Cookie: ~ }',
      '    param_rules:',
      '      remove: { RemoveMe: Remove }',
      '    rewrite_rules:',
      '      replace: { v1: v2, /old/: /new/ }',
      '    firewall_rules:',
      '      ip_reject: [10.192.0.0/16, "::1"]',
      '      path_reject: [/messages]',
    ),
    'course.yaml',
  );
  const [route] = config.routes;
  assert.equal(route?.host, 'www.mango.com');
  assert.equal(route?.name, 'host www.mango.com');
  assert.equal(route?.path, undefined);
  assert.equal(route?.stripPrefix, '');
  assert.deepEqual(route?.requestHeaders, {
    add: [
      ['X-A', '1'],
      ['X-B', '2'],
    ],
    set: [],
    remove: ['host', 'cookie'],
  });
  assert.deepEqual(route?.query, { add: [], set: [], remove: ['RemoveMe'] });
  assert.deepEqual(route?.rewrite, {
    replace: [
      ['v1', 'v2'],
      ['/old/', '/new/'],
    ],
    addPrefix: '',
  });
  assert.deepEqual(route?.firewall, { ipAllow: [], ipReject: ['10.192.0.0/16', '::1'], pathReject: [{ kind: 'prefix', value: '/messages' }] });
  assert.equal(config.services.get('host www.mango.com')?.balance, 'least_connections');
});

test('unknown keys in the course form are errors, with suggestions', () => {
  assert.deepEqual(
    issuesIn(yaml('hosts:', '  - host: a.com', '    server: [a:1]', '    header_rules:', '      delete: { X: y }', 'listen: 127.0.0.1:9000')),
    [
      'course.yaml:2:5: hosts[0].servers: is required',
      'course.yaml:3:5: hosts[0].server: unknown key; did you mean "servers"?',
      'course.yaml:5:7: hosts[0].header_rules.delete: unknown key',
      'course.yaml:6:1: listen: unknown key',
    ],
  );
});

test('course values are checked like weir values', () => {
  assert.deepEqual(
    issuesIn(
      yaml(
        'paths:',
        '  - path: mango',
        '    servers: [localhost, "localhost:0"]',
        '    firewall_rules:',
        '      ip_reject: [10.192.0.300]',
        '    header_rules:',
        '      remove: [Host]',
      ),
    ),
    [
      'course.yaml:2:11: paths[0].path: "mango" must start with "/"',
      'course.yaml:3:15: paths[0].servers[0]: "localhost" has no port; write HOST:PORT, like "127.0.0.1:8080" or "[::1]:8080"',
      'course.yaml:3:26: paths[0].servers[1]: port 0 is only allowed for listen (where it picks a free port); a server needs its real port',
      'course.yaml:5:19: paths[0].firewall_rules.ip_reject[0]: "10.192.0.300" is not an IP address or CIDR range (like "10.0.0.0/8")',
      'course.yaml:7:15: paths[0].header_rules.remove: must be a mapping, not a list',
    ],
  );
});

test('the same host or path twice is reported at the later entry', () => {
  assert.deepEqual(
    issuesIn(
      yaml(
        'hosts:',
        '  - host: www.mango.com',
        '    servers: [localhost:8081]',
        '  - host: WWW.MANGO.COM',
        '    servers: [localhost:8082]',
        'paths:',
        '  - path: /mango',
        '    servers: [localhost:8081]',
        '  - path: /mango',
        '    servers: [localhost:9]',
      ),
    ),
    [
      'course.yaml:4:5: hosts[1]: matches the same requests as hosts[0] (same host, path and methods), so it would never be used',
      'course.yaml:9:5: paths[1]: matches the same requests as paths[0] (same host, path and methods), so it would never be used',
    ],
  );
});

test('there must be something to route to', () => {
  assert.deepEqual(issuesIn(yaml('hosts:', '  - host: a.com', '    servers: []')), ['course.yaml:3:14: hosts[0].servers: must not be empty']);
  assert.deepEqual(issuesIn(yaml('hosts: []', 'paths: []')), [
    'course.yaml:1:1: hosts and paths are both empty; the config needs at least one entry to route to',
  ]);
});
