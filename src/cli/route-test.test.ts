// weir test: a spec of requests and what must happen to each, run through
// the same planRequest() the proxy runs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfigText } from '../config/load.ts';
import { ConfigError } from '../config/types.ts';
import { compileForTests, loadRouteSpecFile, readRouteSpec, runRouteSpec, specConfigFile } from './route-test.ts';

const lines = (...text: string[]): string => `${text.join('\n')}\n`;

const config = loadConfigText(
  lines(
    'trusted_proxies: [10.0.0.0/8]',
    'routes:',
    '  - name: api',
    '    host: api.example.com',
    '    path: /v1',
    '    strip_prefix: true',
    '    methods: [GET, POST]',
    '    request_headers: { set: { X-Client: "${client_ip}" }, remove: [Cookie] }',
    '    query: { remove: [debug] }',
    '    firewall: { ip_reject: [192.0.2.0/24], path_reject: [/v1/admin] }',
    '    rate_limit: { rate: 1/m, burst: 1 }',
    '    service: api',
    '  - name: old',
    '    host: old.example.com',
    '    redirect: { to: "https://new.example.com${request_uri}", status: 301 }',
    '  - name: down',
    '    path: /maintenance',
    '    respond: { status: 503, body: later }',
    '  - name: site',
    '    host: www.example.com',
    '    firewall: { methods: [GET, HEAD] }',
    '    service: web',
    'services:',
    '  api: { servers: [127.0.0.1:8081] }',
    '  web: { servers: [127.0.0.1:9081] }',
  ),
  'weir.yaml',
  { env: {} },
);

/** The issues of a spec that does not validate, as printed. */
function specIssues(text: string): string[] {
  try {
    readRouteSpec(text, 'weir.test.yaml', config);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  assert.fail('the spec was read, but issues were expected');
}

const run = (text: string) => runRouteSpec(config, readRouteSpec(text, 'weir.test.yaml', config));

describe('readRouteSpec', () => {
  test('a request needs only a url; the method is GET and the client 127.0.0.1 unless given', () => {
    const spec = readRouteSpec(lines('tests:', '  - name: home', '    request: { url: "http://www.example.com/" }', '    expect: { route: site }'), 'weir.test.yaml', config);
    assert.deepEqual(spec.tests[0]?.request, { method: 'GET', url: 'http://www.example.com/', headers: [], clientIp: '127.0.0.1' });
    assert.deepEqual(spec.tests[0]?.expect, { route: 'site' });
    assert.equal(spec.tests[0]?.where, 'weir.test.yaml:2:5');
  });

  test('headers keep their order and case; numbers are text; a list repeats a header', () => {
    const spec = readRouteSpec(
      lines('tests:', '  - name: h', '    request: { url: /, headers: { X-A: 1, Cookie: [a=1, b=2] }, method: post, client_ip: "::1" }', '    expect: { status: 404 }'),
      'weir.test.yaml',
      config,
    );
    assert.deepEqual(spec.tests[0]?.request, { method: 'POST', url: '/', headers: [['X-A', '1'], ['Cookie', 'a=1'], ['Cookie', 'b=2']], clientIp: '::1' });
  });

  test('every problem in a spec is reported with file:line:column and its key', () => {
    const issues = specIssues(
      lines(
        'tests:',
        '  - name: one',
        '    request: { url: "https://www.example.com/", client_ip: nobody }',
        '    expect: { stauts: 403 }',
        '  - name: one',
        '    request: { url: www.example.com/x, headers: { "Bad Name": x } }',
        '    expect: { status: 999, backend_headers: { X-A: [1] } }',
        '  - name: three',
        '    request: { url: / }',
        '    expect: {}',
      ),
    );
    assert.deepEqual(issues, [
      "weir.test.yaml:3:21: tests[0].request.url: weir's listener takes plain http://; for a request that came through a TLS proxy, write http://, a client_ip in trusted_proxies and the header X-Forwarded-Proto: https",
      'weir.test.yaml:3:60: tests[0].request.client_ip: "nobody" is not an IP address',
      'weir.test.yaml:4:15: tests[0].expect.stauts: unknown key; did you mean "status"?',
      'weir.test.yaml:5:11: tests[1].name: "one" is already the name of tests[0]',
      'weir.test.yaml:6:21: tests[1].request.url: must be "http://host/path" or "/path"',
      'weir.test.yaml:6:51: tests[1].request.headers["Bad Name"]: "Bad Name" is not a valid header name (letters, digits and !#$%&\'*+-.^_`|~ only)',
      'weir.test.yaml:7:23: tests[1].expect.status: must be "forward" or a status from 100 to 599',
      'weir.test.yaml:7:52: tests[1].expect.backend_headers.X-A: must be the value (text) or null for "absent"',
      'weir.test.yaml:10:13: tests[2].expect: expects nothing; give at least one of route, status, service, backend_path, backend_headers, redirect',
    ]);
  });

  test('a spec must have tests, and expect names that the config has', () => {
    assert.deepEqual(specIssues('tests: []\n'), ['weir.test.yaml:1:8: tests: must not be empty']);
    assert.deepEqual(specIssues(lines('tests:', '  - name: x', '    request: { url: / }', '    expect: { route: apx, service: wbe }')), [
      'weir.test.yaml:4:22: tests[0].expect.route: the config has no route "apx"; did you mean "api"?',
      'weir.test.yaml:4:36: tests[0].expect.service: the config has no service "wbe"; did you mean "web"?',
    ]);
  });

  test('expectations that cannot hold together are an issue', () => {
    assert.deepEqual(specIssues(lines('tests:', '  - name: x', '    request: { url: / }', '    expect: { status: 403, backend_path: /x, redirect: /y }')), [
      'weir.test.yaml:4:42: tests[0].expect.backend_path: only a forwarded request reaches a backend; status is 403',
      'weir.test.yaml:4:56: tests[0].expect.redirect: only a redirect (301, 302, 307, 308) has a Location; status is 403',
    ]);
  });
});

describe('runRouteSpec', () => {
  test('every kind of expectation, met', () => {
    const report = run(
      lines(
        'tests:',
        '  - name: the api gets the rest of the path, the client and no cookie',
        '    request:',
        '      url: http://api.example.com/v1/users?debug=1&x=1',
        '      headers: { Cookie: a=1, X-Forwarded-For: 203.0.113.9 }',
        '      client_ip: 10.0.0.5',
        '    expect:',
        '      route: api',
        '      status: forward',
        '      service: api',
        '      backend_path: /users?x=1',
        '      backend_headers: { X-Client: 203.0.113.9, x-forwarded-for: "203.0.113.9, 10.0.0.5", Cookie: null }',
        '  - name: the firewall refuses a client',
        '    request: { url: "http://api.example.com/v1/", client_ip: 192.0.2.1 }',
        '    expect: { route: api, status: 403 }',
        '  - name: and a path',
        '    request: { url: "http://api.example.com/v1/%61dmin" }',
        '    expect: { status: 403 }',
        '  - name: no route',
        '    request: { url: "http://nowhere.example.com/" }',
        '    expect: { status: 404 }',
        '  - name: a method the route does not take',
        '    request: { method: DELETE, url: "http://www.example.com/" }',
        '    expect: { route: site, status: 405 }',
        '  - name: a redirect',
        '    request: { url: "http://old.example.com/a?b=1" }',
        '    expect: { route: old, status: 301, redirect: "https://new.example.com/a?b=1" }',
        '  - name: an answer of weir\'s own',
        '    request: { url: /maintenance }',
        '    expect: { route: down, status: 503 }',
        '  - name: a Host header given wins over the URL\'s host, and repeated headers are one list',
        '    request: { url: "http://ignored.example/v1/", headers: { Host: api.example.com, X-A: [1, "2"] } }',
        '    expect: { route: api, backend_headers: { X-A: "1, 2" } }',
        '  - name: rate limits are not counted',
        '    request: { url: "http://api.example.com/v1/" }',
        '    expect: { status: forward }',
      ),
    );
    assert.equal(report.failed, 0, report.output);
    assert.equal(
      report.output,
      lines(
        'ok   the api gets the rest of the path, the client and no cookie',
        'ok   the firewall refuses a client',
        'ok   and a path',
        'ok   no route',
        'ok   a method the route does not take',
        'ok   a redirect',
        "ok   an answer of weir's own",
        "ok   a Host header given wins over the URL's host, and repeated headers are one list",
        'ok   rate limits are not counted',
        '9 tests: 9 passed, 0 failed',
      ).trimEnd(),
    );
  });

  test('a failure says what was expected and what happened, key by key', () => {
    const report = run(
      lines(
        'tests:',
        '  - name: wrong everything',
        '    request: { url: "http://api.example.com/v1/users?debug=1", headers: { Cookie: a=1 } }',
        '    expect:',
        '      route: site',
        '      service: web',
        '      backend_path: /v1/users',
        '      backend_headers: { X-Client: 10.9.9.9, X-Missing: here, X-Client-Ip: null, Via: null }',
        '  - name: refused, not forwarded',
        '    request: { url: "http://api.example.com/v1/admin" }',
        '    expect: { status: forward, backend_path: /admin }',
        '  - name: wrong redirect',
        '    request: { url: "http://old.example.com/a" }',
        '    expect: { status: 302, redirect: "https://new.example.com/b" }',
      ),
    );
    assert.equal(report.failed, 3);
    assert.equal(
      report.output,
      [
        'FAIL wrong everything (weir.test.yaml:2:5)',
        '       route: expected "site", got "api"',
        '       service: expected "web", got "api"',
        '       backend_path: expected "/v1/users", got "/users"',
        '       backend_headers.X-Client: expected "10.9.9.9", got "127.0.0.1"',
        '       backend_headers.X-Missing: expected "here", got absent',
        '       backend_headers.Via: expected absent, got "1.1 weir"',
        '       happened: route "api" → service api, backend receives GET /users',
        'FAIL refused, not forwarded (weir.test.yaml:9:5)',
        '       status: expected forward, got 403',
        '       backend_path: expected "/admin", got nothing (not forwarded)',
        '       happened: route "api" → 403 (firewall: path_reject /v1/admin)',
        'FAIL wrong redirect (weir.test.yaml:12:5)',
        '       status: expected 302, got 301',
        '       redirect: expected "https://new.example.com/b", got "https://new.example.com/a"',
        '       happened: route "old" → 301 redirect to https://new.example.com/a',
        '3 tests: 0 passed, 3 failed',
      ].join('\n'),
    );
  });
});

describe('compileForTests', () => {
  test('leaves every rate limit out, so none is counted and no Redis is connected to', () => {
    const limited = loadConfigText(
      lines(
        'defaults: { rate_limit: { rate: 1/s, store: "redis://127.0.0.1:1" } }',
        'routes:',
        '  - { service: api, rate_limit: { rate: 1/m } }',
        'services:',
        '  api: { servers: [127.0.0.1:8081] }',
      ),
      'weir.yaml',
      { env: {} },
    );
    const route = compileForTests(limited).router.match('h', '/', 'GET')?.value;
    assert.ok(route);
    assert.deepEqual(route.rateLimits, []);
  });
});

describe('specConfigFile', () => {
  test('weir.test.yaml is for weir.yaml; other names are for no config', () => {
    assert.equal(specConfigFile('examples/weir.test.yaml'), 'examples/weir.yaml');
    assert.equal(specConfigFile('a/b.test.yml'), 'a/b.yml');
    assert.equal(specConfigFile('spec.yaml'), undefined);
    assert.equal(specConfigFile('test.yaml'), undefined);
  });
});

describe('loadRouteSpecFile', () => {
  test('a spec that cannot be read is a ConfigError naming it', async () => {
    await assert.rejects(loadRouteSpecFile('/nonexistent/weir.test.yaml', config), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, '/nonexistent/weir.test.yaml: cannot read the spec: no such file');
      return true;
    });
  });
});
