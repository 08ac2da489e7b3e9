import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { balancers } from '../upstream/balancers/index.ts';
import { JSON_SCHEMA_FILE, renderJsonSchema } from './json-schema.ts';

test('schema/weir.schema.json is what the generator writes now (run `npm run schema` after changing schema.ts)', async () => {
  assert.equal(await readFile(JSON_SCHEMA_FILE, 'utf8'), renderJsonSchema());
});

test('the JSON Schema describes the keys, defaults and closed objects editors need', () => {
  const schema = JSON.parse(renderJsonSchema());
  assert.equal(schema.title, 'weir configuration');
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required, ['routes', 'services']);
  assert.equal(schema.properties.listen.default, '127.0.0.1:8080');

  const route = schema.properties.routes.items;
  assert.equal(route.additionalProperties, false);
  assert.equal(route.required, undefined);
  assert.deepEqual(Object.keys(route.properties), [
    'name',
    'host',
    'path',
    'path_exact',
    'path_regex',
    'methods',
    'strip_prefix',
    'request_headers',
    'response_headers',
    'query',
    'firewall',
    'rate_limit',
    'rewrite',
    'https_redirect',
    'canonical_host',
    'service',
    'redirect',
    'respond',
    'timeouts',
    'retry_non_idempotent',
  ]);
  for (const [key, property] of Object.entries(route.properties)) {
    const { description } = property as { description?: string };
    assert.ok(description, `routes[].${key} has a description`);
  }

  const service = schema.properties.services.additionalProperties;
  // The schema offers exactly the algorithms that exist, one file each.
  assert.deepEqual(service.properties.balance.enum, Object.keys(balancers));
  assert.equal(service.properties.balance.default, 'round_robin');
  // Durations are described as written, not as the milliseconds they become.
  const healthCheck = service.properties.health_check.properties;
  assert.equal(healthCheck.interval.default, '5s');
  assert.equal(healthCheck.interval.type, 'string');
  assert.equal(healthCheck.interval.pattern, '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$');
  assert.deepEqual(healthCheck.expected_statuses.default, ['200-399']);
  assert.equal(service.properties.timeouts.properties.response_headers.default, '60s');
  // The default timeout depends on the interval, so it is described rather than given.
  assert.equal(healthCheck.timeout.default, undefined);
  assert.match(healthCheck.timeout.description, /Default: 2s, or the interval when that is shorter/);

  const { limits, client_timeouts: clientTimeouts } = schema.properties;
  assert.equal(limits.additionalProperties, false);
  assert.deepEqual(
    Object.fromEntries(Object.entries(limits.properties).map(([key, value]) => [key, [(value as { default: unknown }).default, (value as { minimum: unknown }).minimum]])),
    { client_connections: [10_000, 1], pipelined_requests: [16, 0], upstream_requests: [4096, 1], http2_streams: [100, 1], http2_header_list: ['32k', undefined] },
  );
  assert.equal(clientTimeouts.additionalProperties, false);
  assert.deepEqual(
    Object.fromEntries(Object.entries(clientTimeouts.properties).map(([key, value]) => [key, (value as { default: unknown }).default])),
    { header: '30s', body_idle: '60s', keep_alive: '5s' },
  );
  for (const section of [limits, clientTimeouts]) {
    assert.ok(section.description);
    for (const [key, property] of Object.entries(section.properties)) assert.ok((property as { description?: string }).description, `${key} has a description`);
  }
  const redirectStatus = route.properties.redirect.properties.status;
  assert.deepEqual([redirectStatus.enum, redirectStatus.default], [[301, 302, 307, 308], 302]);
});
