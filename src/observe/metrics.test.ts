import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { backendFailure, clientFailure } from '../failure.ts';
import { Backend } from '../upstream/backend.ts';
import { DURATION_BUCKETS, Metrics, type MetricSources } from './metrics.ts';
import { forwarded, makeRecord } from './observe.fixtures.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  helps: Map<string, string>;
}

/** A small reader of the text format, strict enough to catch a malformed line. */
function parse(text: string): Exposition {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? helps : types).set(meta[2]!, meta[3]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(sample, `a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const labelText = sample[2] ?? '';
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
    let at = 0;
    while (at < labelText.length) {
      labelPattern.lastIndex = at;
      const label = labelPattern.exec(labelText);
      assert.ok(label, `labels of ${JSON.stringify(line)}`);
      labels[label[1]!] = label[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      at = labelPattern.lastIndex;
    }
    const raw = sample[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    assert.ok(!Number.isNaN(value) || raw === 'NaN', `a number: ${raw}`);
    samples.push({ name: sample[1]!, labels, value });
  }
  return { samples, types, helps };
}

/** The value of the one sample with this name and (at least) these labels; undefined when there is none. */
function valueOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = exposition.samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  assert.ok(found.length <= 1, `one sample of ${name} ${JSON.stringify(labels)}, found ${found.length}`);
  return found[0]?.value;
}

function sources(overrides: Partial<MetricSources> = {}): MetricSources {
  return { backends: () => [], inflight: () => 0, clientConnections: () => 0, refusals: () => ({}), ...overrides };
}

async function scrape(metrics: Metrics): Promise<Exposition> {
  return parse(await metrics.render());
}

test('requests are counted by route, service and status; 0 (no answer) as 499', async (t) => {
  const metrics = new Metrics(sources());
  t.after(() => metrics.close());
  const ok = forwarded();
  metrics.requestFinished(ok, 200, 100, 3);
  metrics.requestFinished(ok, 200, 50, 3);
  metrics.requestFinished(forwarded({ failure: backendFailure(502, 'reset', 'before-response') }), 502, 11, 3);
  metrics.requestFinished(forwarded(), 0, 0, 3);
  metrics.requestFinished(makeRecord({ failure: { owner: 'config', status: 404, reason: 'no route matches' } }), 404, 9, 0.1);
  const out = await scrape(metrics);
  assert.equal(out.types.get('weir_requests_total'), 'counter');
  assert.equal(valueOf(out, 'weir_requests_total', { route: 'api', service: 'api', code: '200' }), 2);
  assert.equal(valueOf(out, 'weir_requests_total', { route: 'api', service: 'api', code: '502' }), 1);
  assert.equal(valueOf(out, 'weir_requests_total', { route: 'api', service: 'api', code: '499' }), 1);
  // No route: empty labels, which Prometheus reads as absent.
  assert.equal(valueOf(out, 'weir_requests_total', { route: '', service: '', code: '404' }), 1);
  assert.equal(valueOf(out, 'weir_response_body_bytes_total', { route: 'api' }), 161);

  metrics.requestFinished(ok, 200, 0, 3);
  assert.equal(valueOf(await scrape(metrics), 'weir_requests_total', { route: 'api', service: 'api', code: '200' }), 3);
});

test('request durations: a histogram per route with cumulative buckets, in seconds', async (t) => {
  const metrics = new Metrics(sources());
  t.after(() => metrics.close());
  const record = forwarded();
  for (const ms of [1, 5, 5.0001, 30, 700, 20_000]) metrics.requestFinished(record, 200, 0, ms);
  const out = await scrape(metrics);
  assert.equal(out.types.get('weir_request_duration_seconds'), 'histogram');
  const bucket = (le: string) => valueOf(out, 'weir_request_duration_seconds_bucket', { route: 'api', le });
  assert.deepEqual(
    [...DURATION_BUCKETS.map(String), '+Inf'].map(bucket),
    // le is "at most": 5 ms is in the 0.005 bucket, 5.0001 ms is not.
    [2, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6],
  );
  assert.equal(valueOf(out, 'weir_request_duration_seconds_count', { route: 'api' }), 6);
  assert.ok(Math.abs(valueOf(out, 'weir_request_duration_seconds_sum', { route: 'api' })! - 20.7410001) < 1e-9);
  assert.deepEqual(DURATION_BUCKETS.slice(0, 1), [0.005]);
  assert.deepEqual(DURATION_BUCKETS.slice(-1), [10]);
});

test('upstream durations: per service and backend, only for requests that reached one; tunnels are not timed', async (t) => {
  const metrics = new Metrics(sources());
  t.after(() => metrics.close());
  metrics.requestFinished(forwarded({ backend: '127.0.0.1:8081' }), 200, 0, 20);
  metrics.requestFinished(forwarded({ backend: '127.0.0.1:8082' }), 200, 0, 40);
  metrics.requestFinished(forwarded({ backend: '127.0.0.1:8082' }), 200, 0, 60);
  // Refused before any backend: no upstream time.
  metrics.requestFinished(makeRecord({ route: 'api', service: 'api', failure: clientFailure(403, 'firewall: ip_reject 10.0.0.0/8') }), 403, 0, 1);
  // A WebSocket tunnel that stayed open for an hour.
  metrics.requestFinished(forwarded({ backend: '127.0.0.1:8081' }), 101, 5000, 3_600_000);
  const out = await scrape(metrics);
  assert.equal(valueOf(out, 'weir_upstream_duration_seconds_count', { service: 'api', backend: '127.0.0.1:8081' }), 1);
  assert.equal(valueOf(out, 'weir_upstream_duration_seconds_count', { service: 'api', backend: '127.0.0.1:8082' }), 2);
  assert.ok(Math.abs(valueOf(out, 'weir_upstream_duration_seconds_sum', { service: 'api', backend: '127.0.0.1:8082' })! - 0.1) < 1e-9);
  assert.equal(valueOf(out, 'weir_request_duration_seconds_count', { route: 'api' }), 4);
  assert.equal(valueOf(out, 'weir_requests_total', { route: 'api', service: 'api', code: '101' }), 1);
});

test('upstream durations use record.upstreamMs when the forwarding phase sets it', async (t) => {
  const metrics = new Metrics(sources());
  t.after(() => metrics.close());
  const record = Object.assign(forwarded(), { upstreamMs: 7 });
  metrics.requestFinished(record, 200, 0, 500);
  const out = await scrape(metrics);
  assert.equal(valueOf(out, 'weir_upstream_duration_seconds_sum', { service: 'api', backend: '127.0.0.1:8081' }), 0.007);
  assert.equal(valueOf(out, 'weir_request_duration_seconds_sum', { route: 'api' }), 0.5);
});

test('backends are read when scraped: up, state, in flight, ejections', async (t) => {
  const up = new Backend('api', { host: '127.0.0.1', port: 8081 });
  up.recordCheck(true, 'ok', { healthyThreshold: 1, unhealthyThreshold: 1 });
  up.inflight = 3;
  const unchecked = new Backend('api', { host: '::1', port: 8082 });
  const ejected = new Backend('web', { host: '127.0.0.1', port: 8083 });
  ejected.eject(performance.now() + 60_000, '5 failures in a row');
  const draining = new Backend('web', { host: '127.0.0.1', port: 8084 });
  draining.drain('operator');
  const down = new Backend('web', { host: '127.0.0.1', port: 8085 });
  down.recordCheck(false, 'refused', { healthyThreshold: 1, unhealthyThreshold: 1 });
  const all = [up, unchecked, ejected, draining, down];
  const metrics = new Metrics(sources({ backends: () => all }));
  t.after(() => metrics.close());

  const out = await scrape(metrics);
  const upness = (backend: Backend) => valueOf(out, 'weir_backend_up', { service: backend.service, backend: backend.label });
  assert.deepEqual(all.map(upness), [1, 1, 0, 0, 0]);
  assert.equal(valueOf(out, 'weir_backend_up', { backend: '[::1]:8082' }), 1);
  for (const backend of all) {
    const states = out.samples.filter((sample) => sample.name === 'weir_backend_state' && sample.labels.backend === backend.label);
    assert.equal(states.length, 5);
    assert.deepEqual(
      states.filter((sample) => sample.value === 1).map((sample) => sample.labels.state),
      [backend.state],
    );
  }
  assert.equal(valueOf(out, 'weir_backend_inflight_requests', { backend: '127.0.0.1:8081' }), 3);
  assert.equal(valueOf(out, 'weir_ejections_total', { service: 'web', backend: '127.0.0.1:8083' }), 1);
  assert.equal(valueOf(out, 'weir_ejections_total', { service: 'api', backend: '127.0.0.1:8081' }), 0);

  // Live: the next scrape sees the backend come back.
  draining.enable('operator');
  assert.equal(valueOf(await scrape(metrics), 'weir_backend_up', { backend: '127.0.0.1:8084' }), 1);
});

test('in flight, client connections and refusals are read when scraped', async (t) => {
  let inflight = 2;
  let refusals: Record<string, number> = { 'firewall: path_reject /admin': 4 };
  const metrics = new Metrics(sources({ inflight: () => inflight, clientConnections: () => 17, refusals: () => refusals }));
  t.after(() => metrics.close());
  let out = await scrape(metrics);
  assert.equal(valueOf(out, 'weir_inflight_requests'), 2);
  assert.equal(valueOf(out, 'weir_client_connections'), 17);
  assert.equal(valueOf(out, 'weir_refusals_total', { reason: 'firewall: path_reject /admin' }), 4);
  inflight = 0;
  refusals = { ...refusals, 'rate_limit routes[0].rate_limit': 9 };
  out = await scrape(metrics);
  assert.equal(valueOf(out, 'weir_inflight_requests'), 0);
  assert.equal(valueOf(out, 'weir_refusals_total', { reason: 'rate_limit routes[0].rate_limit' }), 9);
});

test('retries, spent retry budgets and rate limit decisions are counted', async (t) => {
  const metrics = new Metrics(sources());
  t.after(() => metrics.close());
  metrics.retried('api');
  metrics.retried('api');
  metrics.retried('web');
  metrics.retryBudgetExhausted('api');
  metrics.rateLimitDecision('routes[0].rate_limit', true);
  metrics.rateLimitDecision('routes[0].rate_limit', true);
  metrics.rateLimitDecision('routes[0].rate_limit', false);
  metrics.rateLimitDecision('defaults.rate_limit', false);
  const out = await scrape(metrics);
  assert.equal(valueOf(out, 'weir_retries_total', { service: 'api' }), 2);
  assert.equal(valueOf(out, 'weir_retries_total', { service: 'web' }), 1);
  assert.equal(valueOf(out, 'weir_retry_budget_exhausted_total', { service: 'api' }), 1);
  assert.equal(valueOf(out, 'weir_retry_budget_exhausted_total', { service: 'web' }), undefined);
  assert.equal(valueOf(out, 'weir_rate_limit_decisions_total', { limit: 'routes[0].rate_limit', decision: 'allowed' }), 2);
  assert.equal(valueOf(out, 'weir_rate_limit_decisions_total', { limit: 'routes[0].rate_limit', decision: 'denied' }), 1);
  assert.equal(valueOf(out, 'weir_rate_limit_decisions_total', { limit: 'defaults.rate_limit', decision: 'allowed' }), 0);
});

test('reloads: counted by result; the timestamp and generation follow the successful ones', async (t) => {
  let now = 1_700_000_000_000;
  const metrics = new Metrics(sources(), { now: () => now });
  t.after(() => metrics.close());
  let out = await scrape(metrics);
  assert.deepEqual(
    ['success', 'failure'].map((result) => valueOf(out, 'weir_config_reloads_total', { result })),
    [0, 0],
  );
  assert.equal(valueOf(out, 'weir_config_generation'), 1);
  assert.equal(valueOf(out, 'weir_config_last_reload_timestamp_seconds'), 1_700_000_000);
  assert.equal(valueOf(out, 'weir_config_last_reload_successful'), 1);

  now += 60_500;
  metrics.reloaded(true, 2);
  now += 1000;
  metrics.reloaded(false, 2);
  out = await scrape(metrics);
  assert.deepEqual(
    ['success', 'failure'].map((result) => valueOf(out, 'weir_config_reloads_total', { result })),
    [1, 1],
  );
  assert.equal(valueOf(out, 'weir_config_generation'), 2);
  assert.equal(valueOf(out, 'weir_config_last_reload_timestamp_seconds'), 1_700_000_060.5);
  assert.equal(valueOf(out, 'weir_config_last_reload_successful'), 0);
});

test('process metrics: CPU, memory, start time, file descriptors, event loop', async (t) => {
  const metrics = new Metrics(sources());
  t.after(() => metrics.close());
  await new Promise((resolve) => setTimeout(resolve, 30));
  const out = await scrape(metrics);
  for (const name of [
    'process_cpu_seconds_total',
    'process_cpu_user_seconds_total',
    'process_cpu_system_seconds_total',
    'process_resident_memory_bytes',
    'process_start_time_seconds',
    'nodejs_heap_size_used_bytes',
    'nodejs_heap_size_total_bytes',
    'nodejs_external_memory_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_eventloop_lag_p99_seconds',
  ]) {
    const value = valueOf(out, name);
    assert.ok(value !== undefined && value >= 0 && Number.isFinite(value), `${name} = ${value}`);
    assert.ok(out.helps.get(name), `${name} has a HELP line`);
  }
  assert.ok(valueOf(out, 'process_resident_memory_bytes')! > 1e6);
  const start = valueOf(out, 'process_start_time_seconds')!;
  assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 3600, `start ${start}`);
  if (process.platform === 'linux') assert.ok(valueOf(out, 'process_open_fds')! > 2);
  assert.equal(valueOf(out, 'nodejs_version_info', { version: process.version }), 1);
});

test('label values are escaped; every family has HELP and TYPE once, and no series twice', async (t) => {
  const odd = 'routes[0]: path_regex ^/a\\d+"x"\nnext';
  const backend = new Backend('api', { host: '127.0.0.1', port: 8081 });
  // The same backend twice (as a registry might hand it over) is one series.
  const metrics = new Metrics(sources({ backends: () => [backend, backend], refusals: () => ({ [odd]: 1 }) }));
  t.after(() => metrics.close());
  metrics.requestFinished(forwarded({ route: odd }), 200, 0, 1);
  const text = await metrics.render();
  const out = parse(text);
  assert.equal(valueOf(out, 'weir_requests_total', { route: odd }), 1);
  assert.equal(valueOf(out, 'weir_refusals_total', { reason: odd }), 1);
  assert.equal(valueOf(out, 'weir_backend_up', { backend: '127.0.0.1:8081' }), 1);
  const series = out.samples.map((sample) => `${sample.name}${JSON.stringify(sample.labels)}`);
  assert.equal(new Set(series).size, series.length, 'no series twice');
  for (const name of out.types.keys()) {
    assert.equal(text.split('\n').filter((line) => line.startsWith(`# TYPE ${name} `)).length, 1);
    assert.ok(out.helps.has(name));
  }
  assert.equal(metrics.contentType, 'text/plain; version=0.0.4; charset=utf-8');
});

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const noPromtool = promtool.error ? 'promtool is not installed (apt-get install prometheus); the exposition is not checked by Prometheus\'s own linter' : false;

test('promtool check metrics accepts the exposition', { skip: noPromtool }, async (t) => {
  const backend = new Backend('api', { host: '127.0.0.1', port: 8081 });
  const metrics = new Metrics(sources({ backends: () => [backend], refusals: () => ({ 'firewall: path_reject /admin': 2 }) }));
  t.after(() => metrics.close());
  metrics.requestFinished(forwarded({ route: 'odd "route"\\' }), 200, 10, 12);
  metrics.requestFinished(makeRecord({ failure: { owner: 'config', status: 404, reason: 'no route matches' } }), 404, 9, 0.2);
  metrics.retried('api');
  metrics.retryBudgetExhausted('api');
  metrics.rateLimitDecision('routes[0].rate_limit', false);
  metrics.reloaded(true, 2);
  const text = await metrics.render();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ code: exitCode, output }));
    child.stdin.end(text);
  });
  assert.equal(output.trim(), '', 'promtool has nothing to say');
  assert.equal(code, 0);
});
