import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { clientFailure, backendFailure } from '../failure.ts';
import { AccessLog, AccessLogSlot, pathOf, type AccessLogOptions } from './access-log.ts';
import { forwarded, makeRecord, memoryLogger } from './observe.fixtures.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-access-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function lines(path: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Waits until the file has `count` lines: sonic-boom writes in the background. */
async function untilLines(path: string, count: number): Promise<Array<Record<string, unknown>>> {
  for (let i = 0; i < 200; i++) {
    const found = await lines(path);
    if (found.length >= count) return found;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`${path} never got ${count} lines`);
}

function open(path: string, extra: Partial<AccessLogOptions> = {}): Promise<AccessLog> {
  return AccessLog.open({ path, minStatus: 0, sample: 1, log: memoryLogger().log, ...extra });
}

test('one JSON line per request, with its fields', async (t) => {
  const path = join(await tempDir(t), 'access.log');
  const log = await open(path);
  const startedAt = Date.parse('2025-03-04T05:06:07.089Z');
  log.requestFinished(forwarded({ startedAt, requestId: 'abc', peer: '10.0.0.9' }), 200, 1234, 12.345);
  const failed = forwarded({
    url: '/upload?token=secret',
    method: 'POST',
    rawHeaders: ['host', 'api.example.com'],
    attempts: 3,
    failure: backendFailure(502, 'connect failed: ECONNREFUSED', 'connect'),
  });
  log.requestFinished(failed, 502, 11, 3.04);
  const notRouted = makeRecord({ url: '/nothing', failure: { owner: 'config', status: 404, reason: 'no route matches' } });
  log.requestFinished(notRouted, 404, 9, 0.26);
  await log.close();

  const [ok, bad, unrouted] = await lines(path);
  assert.deepEqual(ok, {
    time: '2025-03-04T05:06:07.089Z',
    request_id: 'abc',
    client_ip: '10.0.0.9',
    method: 'GET',
    host: 'api.example.com',
    path: '/api/users',
    protocol: 'HTTP/1.1',
    status: 200,
    duration_ms: 12.3,
    upstream_ms: null,
    bytes_sent: 1234,
    route: 'api',
    service: 'api',
    backend: '127.0.0.1:8081',
    attempts: 1,
    user_agent: 'curl/8.5.0',
  });
  assert.deepEqual(
    { ...bad, time: undefined },
    {
      time: undefined,
      request_id: 'req-1',
      client_ip: '127.0.0.1',
      method: 'POST',
      host: 'api.example.com',
      path: '/upload',
      protocol: 'HTTP/1.1',
      status: 502,
      duration_ms: 3,
      upstream_ms: null,
      bytes_sent: 11,
      route: 'api',
      service: 'api',
      backend: '127.0.0.1:8081',
      attempts: 3,
      user_agent: null,
      owner: 'backend',
      reason: 'connect failed: ECONNREFUSED',
    },
  );
  assert.equal(bad?.time, new Date(failed.startedAt).toISOString());
  assert.deepEqual([unrouted?.route, unrouted?.service, unrouted?.backend, unrouted?.attempts, unrouted?.owner], [null, null, null, 0, 'config']);
});

test('upstream_ms: the time at the backend, once the forwarding phase records it', async (t) => {
  const path = join(await tempDir(t), 'access.log');
  const log = await open(path);
  log.requestFinished(Object.assign(forwarded(), { upstreamMs: 8.4567 }), 200, 0, 9.9);
  await log.close();
  const [line] = await lines(path);
  assert.deepEqual([line?.duration_ms, line?.upstream_ms], [9.9, 8.5]);
});

test('the time is ISO 8601 with milliseconds, whatever the millisecond', async (t) => {
  const path = join(await tempDir(t), 'access.log');
  const log = await open(path);
  const times = [0, 1, 9, 10, 99, 100, 999, 1000, 1001].map((ms) => Date.parse('2024-12-31T23:59:59.000Z') + ms);
  for (const startedAt of times) log.requestFinished(makeRecord({ startedAt }), 200, 0, 1);
  await log.close();
  assert.deepEqual(
    (await lines(path)).map((line) => line.time),
    times.map((ms) => new Date(ms).toISOString()),
  );
});

test('values are escaped: quotes, backslashes, control characters and non-ASCII stay valid JSON', async (t) => {
  const path = join(await tempDir(t), 'access.log');
  const log = await open(path);
  const odd = 'a"b\\c\nd\u0001é✓';
  log.requestFinished(forwarded({ route: odd, rawHeaders: ['user-agent', odd], failure: clientFailure(400, odd) }), 400, 0, 1);
  await log.close();
  const [line] = await lines(path);
  assert.deepEqual([line?.route, line?.user_agent, line?.reason], [odd, odd, odd]);
});

test('path: the query is left out, and an absolute-form target keeps only its path', () => {
  assert.equal(pathOf('/a/b?c=d'), '/a/b');
  assert.equal(pathOf('/a/b'), '/a/b');
  assert.equal(pathOf('/?'), '/');
  assert.equal(pathOf('http://example.com/x/y?z'), '/x/y');
  assert.equal(pathOf('http://example.com'), '/');
  assert.equal(pathOf('*'), '*');
});

test('min_status: only requests answered with at least that status', async (t) => {
  const path = join(await tempDir(t), 'access.log');
  const log = await open(path, { minStatus: 400 });
  log.requestFinished(forwarded({ requestId: '200' }), 200, 0, 1);
  log.requestFinished(forwarded({ requestId: '399' }), 399, 0, 1);
  log.requestFinished(forwarded({ requestId: '400' }), 400, 0, 1);
  log.requestFinished(forwarded({ requestId: '503' }), 503, 0, 1);
  // No answer at all: the client left first, reported as 499.
  log.requestFinished(forwarded({ requestId: 'gone' }), 0, 0, 1);
  // Broken off after a 200 head: judged by its failure.
  log.requestFinished(forwarded({ requestId: 'broken', failure: backendFailure(502, 'reset', 'response') }), 200, 100, 1);
  await log.close();
  assert.deepEqual(
    (await lines(path)).map((line) => [line.request_id, line.status]),
    [
      ['400', 400],
      ['503', 503],
      ['gone', 499],
      ['broken', 200],
    ],
  );
});

test('sample: a share of the requests that did not fail; failures always', async (t) => {
  const path = join(await tempDir(t), 'access.log');
  const draws = [0.7, 0.2, 0.5, 0.49];
  const log = await open(path, { sample: 0.5, random: () => draws.shift() ?? assert.fail('random() called more often than expected') });
  for (const id of ['a', 'b', 'c', 'd']) log.requestFinished(forwarded({ requestId: id }), 200, 0, 1);
  // Failures draw nothing and are kept.
  log.requestFinished(forwarded({ requestId: 'e' }), 500, 0, 1);
  log.requestFinished(forwarded({ requestId: 'f' }), 0, 0, 1);
  log.requestFinished(forwarded({ requestId: 'g', failure: backendFailure(502, 'reset', 'response') }), 200, 0, 1);
  await log.close();
  assert.deepEqual(
    (await lines(path)).map((line) => line.request_id),
    ['b', 'd', 'e', 'f', 'g'],
  );
});

test('sample 0 logs failures only; 1 never draws', async (t) => {
  const dir = await tempDir(t);
  const none = await open(join(dir, 'none.log'), { sample: 0 });
  const all = await open(join(dir, 'all.log'), { sample: 1, random: () => assert.fail('sample 1 must not draw') });
  for (const log of [none, all]) {
    log.requestFinished(forwarded({ requestId: 'ok' }), 204, 0, 1);
    log.requestFinished(forwarded({ requestId: 'bad' }), 404, 0, 1);
    await log.close();
  }
  assert.deepEqual((await lines(join(dir, 'none.log'))).map((line) => line.request_id), ['bad']);
  assert.deepEqual((await lines(join(dir, 'all.log'))).map((line) => line.request_id), ['ok', 'bad']);
});

test('configure changes the filters of an open log', async (t) => {
  const path = join(await tempDir(t), 'access.log');
  const log = await open(path);
  log.requestFinished(forwarded({ requestId: 'before' }), 200, 0, 1);
  log.configure({ minStatus: 500, sample: 1 });
  log.requestFinished(forwarded({ requestId: 'filtered' }), 404, 0, 1);
  log.requestFinished(forwarded({ requestId: 'after' }), 502, 0, 1);
  await log.close();
  assert.deepEqual((await lines(path)).map((line) => line.request_id), ['before', 'after']);
});

test('reopen after logrotate moved the file: earlier lines in the old file, later ones in a new file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'logs', 'access.log');
  // The directory is created.
  const log = await open(path);
  log.requestFinished(forwarded({ requestId: 'one' }), 200, 0, 1);
  await untilLines(path, 1);
  await rename(path, `${path}.1`);
  // Written after the rename and before the reopen: still the old file.
  log.requestFinished(forwarded({ requestId: 'two' }), 200, 0, 1);
  log.reopen();
  log.requestFinished(forwarded({ requestId: 'three' }), 200, 0, 1);
  await untilLines(path, 1);
  log.requestFinished(forwarded({ requestId: 'four' }), 200, 0, 1);
  await log.close();
  const old = (await lines(`${path}.1`)).map((line) => line.request_id);
  const current = (await lines(path)).map((line) => line.request_id);
  // Nothing lost, nothing twice, in order; a line handed on just before the
  // reopen may land in either file, every later one in the new file.
  assert.deepEqual([...old, ...current], ['one', 'two', 'three', 'four']);
  assert.deepEqual(old.slice(0, 1), ['one']);
  assert.deepEqual(current.slice(-2), ['three', 'four']);
});

test('a file is appended to, never truncated', async (t) => {
  const path = join(await tempDir(t), 'access.log');
  await writeFile(path, '{"earlier":true}\n');
  const log = await open(path);
  log.requestFinished(forwarded(), 200, 0, 1);
  await log.close();
  assert.deepEqual((await lines(path)).map((line) => Object.keys(line)[0]), ['earlier', 'time']);
});

test('close writes every buffered line before it resolves, and ignores requests after it', async (t) => {
  const path = join(await tempDir(t), 'access.log');
  const log = await open(path);
  for (let i = 0; i < 20_000; i++) log.requestFinished(forwarded({ requestId: String(i) }), 200, 0, 1);
  const closing = log.close();
  log.requestFinished(forwarded({ requestId: 'late' }), 200, 0, 1);
  await closing;
  await log.close();
  const written = await lines(path);
  assert.equal(written.length, 20_000);
  assert.equal(written.at(-1)?.request_id, '19999');
  assert.equal(log.dropped, 0);
});

test('a path that cannot be opened is refused by open()', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'file'), '');
  await assert.rejects(open(join(dir, 'file', 'access.log')), /^Error: cannot open the access log .*file\/access\.log: (ENOTDIR|EEXIST)/);
  await assert.rejects(open(dir), /cannot open the access log .*: EISDIR/);
});

test('stdout and stderr: lines on the stream, which close() flushes and leaves open', async () => {
  const script = `
    import { AccessLog } from ${JSON.stringify(new URL('./access-log.ts', import.meta.url).href)};
    import { forwarded } from ${JSON.stringify(new URL('./observe.fixtures.ts', import.meta.url).href)};
    import { pino } from 'pino';
    for (const path of ['stdout', 'stderr']) {
      const log = await AccessLog.open({ path, minStatus: 0, sample: 1, log: pino({ enabled: false }) });
      log.reopen();
      log.requestFinished(forwarded({ requestId: path }), 200, 0, 1);
      await log.close();
    }
    process.stdout.write('still open\\n');
  `;
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd() });
  const [out, still] = stdout.trimEnd().split('\n');
  assert.equal((JSON.parse(out!) as { request_id: string }).request_id, 'stdout');
  assert.equal(still, 'still open');
  assert.equal((JSON.parse(stderr.trimEnd()) as { request_id: string }).request_id, 'stderr');
});

test('stdout whose reader went away (EPIPE): reported once, lines dropped, the process goes on', async () => {
  const script = `
    import { AccessLog } from ${JSON.stringify(new URL('./access-log.ts', import.meta.url).href)};
    import { forwarded } from ${JSON.stringify(new URL('./observe.fixtures.ts', import.meta.url).href)};
    import { createLogger } from ${JSON.stringify(new URL('../log.ts', import.meta.url).href)};
    const log = await AccessLog.open({ path: 'stdout', minStatus: 0, sample: 1, log: createLogger(undefined) });
    for (let i = 0; i < 50; i++) {
      log.requestFinished(forwarded({ requestId: String(i) }), 200, 0, 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await log.close();
    process.stderr.write(JSON.stringify({ done: true, dropped: log.dropped }) + '\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  const reports = stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as { msg?: string; done?: boolean; dropped?: number });
  assert.equal(reports.filter((report) => report.msg?.includes('EPIPE')).length, 1, stderr);
  assert.ok(reports.at(-1)?.done);
  assert.ok(reports.at(-1)!.dropped! > 0);
});

test('lines still buffered when the process exits without close() are written on the way out', async (t) => {
  const path = join(await tempDir(t), 'access.log');
  const script = `
    import { AccessLog } from ${JSON.stringify(new URL('./access-log.ts', import.meta.url).href)};
    import { forwarded } from ${JSON.stringify(new URL('./observe.fixtures.ts', import.meta.url).href)};
    import { pino } from 'pino';
    const log = await AccessLog.open({ path: ${JSON.stringify(path)}, minStatus: 0, sample: 1, log: pino({ enabled: false }) });
    for (let i = 0; i < 1000; i++) log.requestFinished(forwarded({ requestId: String(i) }), 200, 0, 1);
    process.exit(0);
  `;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd() });
  const written = await lines(path);
  assert.equal(written.length, 1000);
  assert.equal(written.at(-1)?.request_id, '999');
});

test('AccessLogSlot: a reload keeps the file on the same path, opens a new one on another, closes it when removed', async (t) => {
  const dir = await tempDir(t);
  const { log } = memoryLogger();
  const slot = new AccessLogSlot(log);
  // No access log: requests go nowhere.
  slot.requestFinished(forwarded(), 200, 0, 1);

  const a = join(dir, 'a.log');
  await (await slot.prepare({ path: a, minStatus: 0, sample: 1 })).commit();
  const first = slot.current;
  slot.requestFinished(forwarded({ requestId: 'a1' }), 200, 0, 1);

  await (await slot.prepare({ path: a, minStatus: 400, sample: 1 })).commit();
  assert.equal(slot.current, first, 'same path: same file');
  slot.requestFinished(forwarded({ requestId: 'a-filtered' }), 200, 0, 1);
  slot.requestFinished(forwarded({ requestId: 'a2' }), 500, 0, 1);

  const b = join(dir, 'b.log');
  const change = await slot.prepare({ path: b, minStatus: 0, sample: 1 });
  // Prepared, not committed: the old log still takes requests.
  slot.requestFinished(forwarded({ requestId: 'a3' }), 502, 0, 1);
  await change.commit();
  slot.requestFinished(forwarded({ requestId: 'b1' }), 200, 0, 1);
  assert.deepEqual((await lines(a)).map((line) => line.request_id), ['a1', 'a2', 'a3'], 'the old file was flushed and closed');

  // A change that fails to open changes nothing.
  await assert.rejects(slot.prepare({ path: dir, minStatus: 0, sample: 1 }), /EISDIR/);
  // One that is cancelled closes what it opened.
  const cancelled = await slot.prepare({ path: join(dir, 'c.log'), minStatus: 0, sample: 1 });
  await cancelled.cancel();
  slot.requestFinished(forwarded({ requestId: 'b2' }), 200, 0, 1);

  await (await slot.prepare(undefined)).commit();
  assert.equal(slot.current, undefined);
  slot.requestFinished(forwarded({ requestId: 'nowhere' }), 200, 0, 1);
  assert.deepEqual((await lines(b)).map((line) => line.request_id), ['b1', 'b2']);
  assert.deepEqual(await lines(join(dir, 'c.log')), []);
  await slot.close();
});
