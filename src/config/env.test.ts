// Environment variables in the config text: ${NAME} and ${NAME:-default}.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { expandEnv } from './env.ts';
import { yaml } from './issues.fixtures.ts';
import { loadConfigFile, loadConfigText } from './load.ts';
import { ConfigError } from './types.ts';

/** The expanded text; fails the test when there are issues. */
function expand(text: string, env: Record<string, string | undefined> = {}): string {
  const result = expandEnv(text, env);
  if (!result.ok) assert.fail(`unexpected issues: ${JSON.stringify(result.issues)}`);
  return result.text;
}

/** "line:column: message" of each issue. */
function issues(text: string, env: Record<string, string | undefined> = {}): string[] {
  const result = expandEnv(text, env);
  if (result.ok) assert.fail(`expected issues, got ${JSON.stringify(result.text)}`);
  return result.issues.map((issue) => `${issue.line}:${issue.column}: ${issue.message}`);
}

/** The messages of loading `text` with `env`. */
function loadIssues(text: string, env: Record<string, string | undefined>): string[] {
  try {
    loadConfigText(text, 'weir.yaml', { env });
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  assert.fail('the config loaded, but issues were expected');
}

describe('expandEnv', () => {
  test('${NAME} is the variable; ${NAME:-default} the default when unset or empty', () => {
    const text = 'a: ${HOST}\nb: ${PORT:-8080}\nc: ${EMPTY:-fallback}\nd: ${SET:-unused}\ne: x${HOST}y${HOST}\n';
    assert.equal(
      expand(text, { HOST: 'api.internal', EMPTY: '', SET: 'given' }),
      'a: api.internal\nb: 8080\nc: fallback\nd: given\ne: xapi.internaly' + 'api.internal\n',
    );
  });

  test('a variable set to "" is "" without a default; ${NAME:-} defaults to ""', () => {
    assert.equal(expand('a: "${EMPTY}"\nb: "${UNSET:-}"\n', { EMPTY: '' }), 'a: ""\nb: ""\n');
  });

  test('template variables (lower-case) are left alone, whatever the environment holds', () => {
    const text = 'to: "https://x${request_uri}"\nh: ${client_ip} ${Client_IP} ${host}\n';
    assert.equal(expand(text, { request_uri: 'no', client_ip: 'no', Client_IP: 'no', host: 'no' }), text);
  });

  test('$${NAME} is written as ${NAME}, not looked up', () => {
    assert.equal(expand('a: "$${API_TOKEN} and ${A}"\nb: $${client_ip}\n', { A: '1' }), 'a: "${API_TOKEN} and 1"\nb: $${client_ip}\n');
  });

  test('an unset variable without a default is an issue at its line and column', () => {
    assert.deepEqual(issues('routes:\n  - host: ${API_HOST}\n    x: "Bearer ${API_TOKEN}"\n'), [
      '2:11: environment variable API_HOST is not set (write ${API_HOST:-default} for a default)',
      '3:16: environment variable API_TOKEN is not set (write ${API_TOKEN:-default} for a default)',
    ]);
  });

  test('a reference that is neither ${NAME} nor ${NAME:-default} is an issue', () => {
    assert.deepEqual(issues('a: ${API_TOKEN-x}\nb: ${PORT\nc: ${PORT:=1}\n'), [
      '1:4: "${API_TOKEN-x}" is not an environment variable reference; write ${API_TOKEN} or ${API_TOKEN:-default} ("$${" for a literal "${")',
      '2:4: "${PORT" is not an environment variable reference; write ${PORT} or ${PORT:-default} ("$${" for a literal "${")',
      '3:4: "${PORT:=1}" is not an environment variable reference; write ${PORT} or ${PORT:-default} ("$${" for a literal "${")',
    ]);
  });

  test('references in comments are not expanded and need no variable', () => {
    const text = '# set ${API_TOKEN} before starting\na: ${A} # was ${OLD}\nb: "x # ${A}"\n';
    assert.equal(expand(text, { A: '1' }), '# set ${API_TOKEN} before starting\na: 1 # was ${OLD}\nb: "x # 1"\n');
  });

  test('a value with a line break is refused', () => {
    assert.deepEqual(issues('a: ${KEY}\n', { KEY: 'line1\nline2' }), [
      '1:4: environment variable KEY holds a line break; weir inserts values on one line',
    ]);
    assert.deepEqual(issues('a: ${KEY}\n', { KEY: 'a\rb' }), ['1:4: environment variable KEY holds a line break; weir inserts values on one line']);
  });

  test('in quotes a value stays text: quotes and backslashes are escaped for the quotes it is in', () => {
    const env = { V: `say "hi" \\o/ it's` };
    assert.equal(expand('a: "${V}"\n', env), 'a: "say \\"hi\\" \\\\o/ it\'s"\n');
    assert.equal(expand("a: '${V}'\n", env), `a: 'say "hi" \\o/ it''s'\n`);
    assert.equal(expand('a: { k: "${V}" }\n', env), 'a: { k: "say \\"hi\\" \\\\o/ it\'s" }\n');
  });

  test('line numbers never change; columns are mapped back to the text as written', () => {
    const result = expandEnv('a: ${LONG_NAME}, ${X}, end\nb: ${X}\n', { LONG_NAME: 'v', X: 'a-much-longer-value' });
    assert.ok(result.ok);
    assert.equal(result.text, 'a: v, a-much-longer-value, end\nb: a-much-longer-value\n');
    // "end" is at column 28 after expansion, column 24 as written.
    assert.deepEqual(result.toSource({ line: 1, column: 28 }), { line: 1, column: 24 });
    // Inside a value: the reference, and its name.
    assert.deepEqual(result.toSource({ line: 1, column: 10 }), { line: 1, column: 18, variable: 'X' });
    assert.deepEqual(result.toSource({ line: 1, column: 4 }), { line: 1, column: 4, variable: 'LONG_NAME' });
    assert.deepEqual(result.toSource({ line: 1, column: 1 }), { line: 1, column: 1 });
    assert.deepEqual(result.toSource({ line: 2, column: 4 }), { line: 2, column: 4, variable: 'X' });
    assert.deepEqual(result.toSource({ line: 3, column: 1 }), { line: 3, column: 1 });

    const quoted = expandEnv('a: ["${LONG_NAME}", "${X}"]\n', { LONG_NAME: 'v', X: 'x' });
    assert.ok(quoted.ok);
    assert.equal(quoted.text, 'a: ["v", "x"]\n');
    assert.deepEqual(quoted.toSource({ line: 1, column: 5 }), { line: 1, column: 5, variable: 'LONG_NAME' });
    assert.deepEqual(quoted.toSource({ line: 1, column: 10 }), { line: 1, column: 21, variable: 'X' });
    assert.deepEqual(quoted.toSource({ line: 1, column: 8 }), { line: 1, column: 19 });
  });
});

describe('loading a config with environment variables', () => {
  const config = yaml(
    'listen: ${LISTEN:-127.0.0.1:8080}',
    'routes:',
    '  - host: ${HOST}',
    '    request_headers: { set: { Authorization: "Bearer ${API_TOKEN}", X-Client: "${client_ip}" } }',
    '    service: api',
    'services:',
    '  api:',
    '    servers: [${BACKEND:-127.0.0.1:8081}, { address: 127.0.0.1:8082, weight: ${WEIGHT:-1} }]',
  );

  test('they work in any value, and a plain value is read as YAML (a number stays a number)', () => {
    const loaded = loadConfigText(config, 'weir.yaml', { env: { LISTEN: '0.0.0.0:9000', HOST: 'api.example.com', API_TOKEN: 's3cr"et', WEIGHT: '3' } });
    assert.deepEqual(loaded.listen, { host: '0.0.0.0', port: 9000 });
    assert.equal(loaded.routes[0]?.host, 'api.example.com');
    assert.deepEqual(loaded.routes[0]?.requestHeaders.set, [
      ['Authorization', 'Bearer s3cr"et'],
      ['X-Client', '${client_ip}'],
    ]);
    assert.deepEqual(
      loaded.services.get('api')?.servers.map((server) => server.weight),
      [1, 3],
    );
  });

  test('an unset variable is a ConfigError naming file, line and column', () => {
    const column = config.split('\n')[3]!.indexOf('${API_TOKEN}') + 1;
    assert.equal(column, 54);
    assert.deepEqual(loadIssues(config, { HOST: 'h' }), [
      `weir.yaml:4:${column}: environment variable API_TOKEN is not set (write \${API_TOKEN:-default} for a default)`,
    ]);
  });

  test('issues after a substitution point at the text as written, and a bad value names its variable', () => {
    const messages = loadIssues(yaml('routes:', '  - service: ${SERVICE}', 'services:', '  api:', '    servers: [${A}, 127.0.0.1:99999]'), {
      SERVICE: 'apx',
      A: '127.0.0.1:8081',
    });
    assert.deepEqual(messages, [
      'weir.yaml:2:14: routes[0].service: unknown service "apx"; did you mean "api"? (the value comes from ${SERVICE})',
      'weir.yaml:5:21: services.api.servers[1]: port 99999 is out of range; use 1 to 65535',
    ]);
  });

  test('an issue about a quoted value that starts with a variable names it too', () => {
    const messages = loadIssues(yaml('routes:', '  - service: api', 'services:', '  api:', '    servers: ["${APP_SERVER}", "x${B}"]'), {
      APP_SERVER: '10.0.0.7',
      B: 'abc',
    });
    assert.deepEqual(messages, [
      'weir.yaml:5:15: services.api.servers[0]: "10.0.0.7" has no port; write HOST:PORT, like "127.0.0.1:8080" or "[::1]:8080" (the value comes from ${APP_SERVER})',
      'weir.yaml:5:32: services.api.servers[1]: "xabc" has no port; write HOST:PORT, like "127.0.0.1:8080" or "[::1]:8080"',
    ]);
  });

  test('a YAML syntax error caused by a value points at the reference', () => {
    const [message] = loadIssues(yaml('routes:', '  - service: api', 'services:', '  api:', '    servers: [${A}]'), { A: '127.0.0.1:1]]' });
    assert.match(message ?? '', /^weir\.yaml:5:\d+: .*YAML/);
  });

  test('loadConfigFile reads process.env by default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weir-env-'));
    const name = 'WEIR_ENV_TEST_BACKEND';
    try {
      const file = join(dir, 'weir.yaml');
      await writeFile(file, yaml('routes:', '  - service: api', 'services:', '  api:', `    servers: [\${${name}}]`));
      process.env[name] = '127.0.0.1:8123';
      const loaded = await loadConfigFile(file);
      assert.equal(loaded.services.get('api')?.servers[0]?.address.port, 8123);
      delete process.env[name];
      await assert.rejects(loadConfigFile(file), new RegExp(`weir\\.yaml:5:15: environment variable ${name} is not set`));
    } finally {
      delete process.env[name];
      await rm(dir, { recursive: true, force: true });
    }
  });
});
